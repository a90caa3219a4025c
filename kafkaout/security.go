package kafkaout

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// securityDefaults completes withDefaults for the TLS and SASL fields.
func (cfg Config) securityDefaults() (Config, error) {
	// A CA, a client certificate or a server name only mean something over TLS: setting one
	// asks for TLS, rather than being silently ignored on a plaintext connection.
	if cfg.TLSCAFile != "" || cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" || cfg.TLSServerName != "" || cfg.TLSInsecureSkipVerify {
		cfg.TLS = true
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		e := &ConfigError{Pkg: "kafkaout", Field: "TLSCertFile", Value: cfg.TLSCertFile, Without: "TLSKeyFile", Reason: "a client certificate needs its private key"}
		if cfg.TLSCertFile == "" {
			e = &ConfigError{Pkg: "kafkaout", Field: "TLSKeyFile", Value: cfg.TLSKeyFile, Without: "TLSCertFile", Reason: "a private key needs its client certificate"}
		}
		return cfg, e
	}
	// Kafka spells mechanisms in upper case (sasl.enabled.mechanisms=SCRAM-SHA-512): accept a
	// name copied from a broker's configuration.
	cfg.SASLMechanism = strings.ToLower(strings.TrimSpace(cfg.SASLMechanism))
	switch cfg.SASLMechanism {
	case "":
		// Credentials without a mechanism would be ignored and the brokers would refuse the
		// connection for a reason far from the cause.
		if cfg.SASLUser != "" || cfg.SASLPassword != "" {
			return cfg, &ConfigError{Pkg: "kafkaout", Field: "SASLMechanism", Value: "",
				Reason: "a SASL user or password is set; want plain, scram-sha-256 or scram-sha-512"}
		}
		return cfg, nil
	case "plain", "scram-sha-256", "scram-sha-512":
	default:
		return cfg, &ConfigError{Pkg: "kafkaout", Field: "SASLMechanism", Value: cfg.SASLMechanism, Reason: "want plain, scram-sha-256 or scram-sha-512"}
	}
	if cfg.SASLUser == "" {
		return cfg, &ConfigError{Pkg: "kafkaout", Field: "SASLUser", Value: "", Reason: "SASL " + cfg.SASLMechanism + " needs a user"}
	}
	if cfg.SASLPassword == "" {
		// Value stays nil: a password is never shown.
		return cfg, &ConfigError{Pkg: "kafkaout", Field: "SASLPassword", Reason: "SASL " + cfg.SASLMechanism + " needs a password"}
	}
	return cfg, nil
}

// securityOpts are the franz-go options for TLS and SASL (cfg after withDefaults). The clients use
// them for every connection: produce requests and Ping's metadata requests alike, so /readyz
// fails when the handshake or the authentication does.
func (cfg Config) securityOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if cfg.TLS {
		tc, err := cfg.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if m := cfg.saslMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// tlsConfig builds the client side of TLS. franz-go clones it for each connection and sets
// ServerName to the broker's host when it is empty.
func (cfg Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{
		// Kafka brokers have spoken TLS 1.2 since Java 8; older versions are broken.
		MinVersion:         tls.VersionTLS12,
		ServerName:         cfg.TLSServerName,
		InsecureSkipVerify: cfg.TLSInsecureSkipVerify,
	}
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return nil, &ConfigError{Pkg: "kafkaout", Field: "TLSCAFile", Value: cfg.TLSCAFile, Err: err}
		}
		// Only the given CAs: a private cluster's CA should not share trust with every public one.
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Pkg: "kafkaout", Field: "TLSCAFile", Value: cfg.TLSCAFile, Reason: "holds no PEM certificate"}
		}
		tc.RootCAs = pool
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, &ConfigError{Pkg: "kafkaout", Field: "TLSCertFile", Value: cfg.TLSCertFile,
				Reason: fmt.Sprintf("cannot load it with its key %q", cfg.TLSKeyFile), Err: err}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// saslMechanism is cfg's SASL mechanism, nil for none.
func (cfg Config) saslMechanism() sasl.Mechanism {
	switch cfg.SASLMechanism {
	case "plain":
		return plain.Auth{User: cfg.SASLUser, Pass: cfg.SASLPassword}.AsMechanism()
	case "scram-sha-256":
		return scram.Auth{User: cfg.SASLUser, Pass: cfg.SASLPassword}.AsSha256Mechanism()
	case "scram-sha-512":
		return scram.Auth{User: cfg.SASLUser, Pass: cfg.SASLPassword}.AsSha512Mechanism()
	}
	return nil
}

// warnInsecure logs the settings that work but expose the connection; never the password.
func (cfg Config) warnInsecure() {
	if cfg.Discard {
		return
	}
	if cfg.TLSInsecureSkipVerify {
		cfg.Logger.Warn("Kafka TLS certificates are not verified (--kafka-tls-insecure-skip-verify): anyone between intake and the brokers can read and change the traffic; for tests only")
	}
	if cfg.SASLMechanism == "plain" && !cfg.TLS {
		cfg.Logger.Warn("SASL PLAIN without TLS sends the Kafka password in clear text: add --kafka-tls (or --kafka-tls-ca-file)")
	}
}

// SecurityOpts are the franz-go options for cfg's TLS and SASL settings alone, checked as New
// checks them: for other Kafka clients of the same cluster (intake tail reads with them).
func (cfg Config) SecurityOpts() ([]kgo.Opt, error) {
	cfg, err := cfg.securityDefaults()
	if err != nil {
		return nil, err
	}
	return cfg.securityOpts()
}
