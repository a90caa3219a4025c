package main

import "intake.dev/intake/kafkaout"

// securitySettings are the --kafka-tls* and --kafka-sasl-* flags, bound to k's fields; serve and
// tail share them.
func securitySettings(k *kafkaout.Config) []setting {
	return []setting{
		boolean("kafka-tls", &k.TLS, "connect to --kafka-brokers over TLS, trusting the system's root CAs (any --kafka-tls-* flag implies it)"),
		str("kafka-tls-ca-file", &k.TLSCAFile, "PEM file of the CAs that sign the brokers' certificates, trusted instead of the system's roots"),
		str("kafka-tls-cert-file", &k.TLSCertFile, "PEM client certificate for brokers that require one (mutual TLS), with --kafka-tls-key-file"),
		str("kafka-tls-key-file", &k.TLSKeyFile, "PEM private key of --kafka-tls-cert-file"),
		str("kafka-tls-server-name", &k.TLSServerName, "name every broker's certificate is verified against (default: the host each broker advertises)"),
		boolean("kafka-tls-insecure-skip-verify", &k.TLSInsecureSkipVerify, "accept any broker certificate, unverified: for tests only, it lets anyone in between read and change the events"),
		str("kafka-sasl-mechanism", &k.SASLMechanism, "SASL authentication to --kafka-brokers: plain, scram-sha-256 or scram-sha-512 (\"\" none); plain sends the password as is, use it over TLS"),
		str("kafka-sasl-user", &k.SASLUser, "SASL user name"),
		str("kafka-sasl-password", &k.SASLPassword, "SASL password: pass it in the environment variable INTAKE_KAFKA_SASL_PASSWORD (a command-line value shows in ps); never logged nor shown by /v1/info"),
	}
}

// usesTLS: any TLS setting asks for TLS (kafkaout does the same).
func usesTLS(k *kafkaout.Config) bool {
	return k.TLS || k.TLSCAFile != "" || k.TLSCertFile != "" || k.TLSKeyFile != "" || k.TLSServerName != "" || k.TLSInsecureSkipVerify
}

// securitySet reports whether any TLS or SASL setting is given.
func securitySet(k *kafkaout.Config) bool {
	return usesTLS(k) || k.SASLMechanism != "" || k.SASLUser != "" || k.SASLPassword != ""
}
