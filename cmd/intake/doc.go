// Command intake is the intake service and its tools: serve (the HTTP edge), tail (print a topic's
// events), validate (check events offline as the edge would), broker (the development broker
// alone), canary (canary events through an edge, once or as a service), schema (schema
// repositories: their CI checks, compatibility, materialization) and version. main.go only
// dispatches; serve.go wires the stages (schemacache, kafkaout, edge), starts them, waits for a
// signal and stops them in reverse. Every flag is bound once, in each command's settings()
// (config.go: the binding, the environment variable INTAKE_<FLAG> and the YAML key derived from
// the flag's name, and the errors that name the flag).
//
// It imports canary, edge, fastpath, kafkaout, schemacache and schemarepo.
package main
