package main

import "intake.dev/intake/kafkaout"

// kafkaSecurity are the --kafka-tls* and --kafka-sasl-* flags, shared by serve and tail.
type kafkaSecurity struct {
	tls           *bool
	tlsCAFile     *string
	tlsCertFile   *string
	tlsKeyFile    *string
	tlsServerName *string
	tlsInsecure   *bool
	saslMechanism *string
	saslUser      *string
	saslPassword  *string
}

func securityFlags(o *options) kafkaSecurity {
	return kafkaSecurity{
		tls:           o.Bool("kafka-tls", false, "connect to --kafka-brokers over TLS, trusting the system's root CAs (any --kafka-tls-* flag implies it)"),
		tlsCAFile:     o.String("kafka-tls-ca-file", "", "PEM file of the CAs that sign the brokers' certificates, trusted instead of the system's roots"),
		tlsCertFile:   o.String("kafka-tls-cert-file", "", "PEM client certificate for brokers that require one (mutual TLS), with --kafka-tls-key-file"),
		tlsKeyFile:    o.String("kafka-tls-key-file", "", "PEM private key of --kafka-tls-cert-file"),
		tlsServerName: o.String("kafka-tls-server-name", "", "name every broker's certificate is verified against (default: the host each broker advertises)"),
		tlsInsecure:   o.Bool("kafka-tls-insecure-skip-verify", false, "accept any broker certificate, unverified: for tests only, it lets anyone in between read and change the events"),
		saslMechanism: o.String("kafka-sasl-mechanism", "", "SASL authentication to --kafka-brokers: plain, scram-sha-256 or scram-sha-512 (\"\" none); plain sends the password as is, use it over TLS"),
		saslUser:      o.String("kafka-sasl-user", "", "SASL user name"),
		saslPassword:  o.String("kafka-sasl-password", "", "SASL password: pass it in the environment variable INTAKE_KAFKA_SASL_PASSWORD (a command-line value shows in ps); never logged nor shown by /v1/info"),
	}
}

// usesTLS: any TLS setting asks for TLS (kafkaout does the same).
func (s kafkaSecurity) usesTLS() bool {
	return *s.tls || *s.tlsCAFile != "" || *s.tlsCertFile != "" || *s.tlsKeyFile != "" || *s.tlsServerName != "" || *s.tlsInsecure
}

// set reports whether any TLS or SASL setting is given.
func (s kafkaSecurity) set() bool {
	return s.usesTLS() || *s.saslMechanism != "" || *s.saslUser != "" || *s.saslPassword != ""
}

func (s kafkaSecurity) apply(cfg *kafkaout.Config) {
	cfg.TLS = *s.tls
	cfg.TLSCAFile = *s.tlsCAFile
	cfg.TLSCertFile = *s.tlsCertFile
	cfg.TLSKeyFile = *s.tlsKeyFile
	cfg.TLSServerName = *s.tlsServerName
	cfg.TLSInsecureSkipVerify = *s.tlsInsecure
	cfg.SASLMechanism = *s.saslMechanism
	cfg.SASLUser = *s.saslUser
	cfg.SASLPassword = *s.saslPassword
}
