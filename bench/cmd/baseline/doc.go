// Command baseline is the bare fasthttp server intake's edge is measured against: it reads the
// request body and answers 201, doing nothing else. Same server library, same machine, same run,
// so the ratio edge/baseline says what intake's own work costs.
//
// It imports no package of the project.
package main
