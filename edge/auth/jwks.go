package auth

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
)

func loadJWKSFile(path string) ([]*verifyKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read jwt.jwks_file: %w", err)
	}
	keys, err := parseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("jwt.jwks_file %q: %w", path, err)
	}
	return keys, nil
}

// jwksFetcher keeps the JWKS URL's keys fresh: a fetch every JWKSRefresh, and one when a token
// names an unknown kid (a key the provider has just rotated in), at most one per JWKSMinRefresh
// so that tokens with made-up kids cannot make intake hammer the provider. Concurrent callers
// share one fetch. A failed fetch keeps the last good set.
type jwksFetcher struct {
	v   *jwtVerifier
	url string
	cfg *JWTConfig
	log *slog.Logger

	mu        sync.Mutex
	inflight  chan struct{} // closed when the fetch in progress ends
	lastStart time.Time
	lastBody  []byte
	lastLog   time.Time

	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// failureLogEvery throttles the refresher's failure logs.
const failureLogEvery = time.Minute

func newJWKSFetcher(v *jwtVerifier, log *slog.Logger) *jwksFetcher {
	return &jwksFetcher{v: v, url: v.cfg.JWKSURL, cfg: &v.cfg, log: log, stopCh: make(chan struct{})}
}

// start fetches the set once, failing if it cannot, then refreshes it in the background.
func (f *jwksFetcher) start() error {
	if _, err := f.refresh(false); err != nil {
		return fmt.Errorf("cannot load jwt.jwks_url %q: %w", f.url, err)
	}
	f.wg.Add(1)
	go f.loop()
	return nil
}

func (f *jwksFetcher) stop() {
	f.stopOnce.Do(func() { close(f.stopCh) })
	f.wg.Wait()
}

func (f *jwksFetcher) loop() {
	defer f.wg.Done()
	t := time.NewTicker(f.cfg.JWKSRefresh)
	defer t.Stop()
	for {
		select {
		case <-f.stopCh:
			return
		case <-t.C:
			if _, err := f.refresh(false); err != nil {
				f.logFailure(err)
			}
		}
	}
}

// refreshForUnknownKid fetches the set for a token whose kid is not in it, unless a fetch
// started less than JWKSMinRefresh ago. It reports whether the set may have changed since the
// caller looked.
func (f *jwksFetcher) refreshForUnknownKid() bool {
	ran, err := f.refresh(true)
	if err != nil {
		f.logFailure(err)
	}
	return ran && err == nil
}

// refresh runs one fetch, or waits for the one in progress. rateLimited skips it when the last
// one started less than JWKSMinRefresh ago; ran is false then.
func (f *jwksFetcher) refresh(rateLimited bool) (ran bool, err error) {
	f.mu.Lock()
	if ch := f.inflight; ch != nil {
		f.mu.Unlock()
		select {
		case <-ch:
		case <-f.stopCh:
			return false, nil
		}
		return true, nil
	}
	now := time.Now()
	if rateLimited && !f.lastStart.IsZero() && now.Sub(f.lastStart) < f.cfg.JWKSMinRefresh {
		f.mu.Unlock()
		return false, nil
	}
	f.lastStart = now
	ch := make(chan struct{})
	f.inflight = ch
	f.mu.Unlock()

	err = f.fetch()

	f.mu.Lock()
	f.inflight = nil
	f.mu.Unlock()
	close(ch)
	return true, err
}

// fetch gets, parses and installs the set; an unchanged document changes nothing (the token
// cache is kept).
func (f *jwksFetcher) fetch() error {
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.JWKSTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		jwksRefreshError.Inc()
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		jwksRefreshError.Inc()
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		jwksRefreshError.Inc()
		return fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		jwksRefreshError.Inc()
		return err
	}
	if len(body) > maxJWKSBytes {
		jwksRefreshError.Inc()
		return fmt.Errorf("JWK Set larger than %d bytes", maxJWKSBytes)
	}
	// Only this goroutine (the one fetch in flight) touches lastBody.
	if f.lastBody != nil && bytes.Equal(body, f.lastBody) {
		jwksRefreshUnchanged.Inc()
		return nil
	}
	keys, err := parseJWKS(body)
	if err != nil {
		jwksRefreshError.Inc()
		return err
	}
	f.v.setFetched(keys)
	f.lastBody = body
	jwksRefreshOK.Inc()
	return nil
}

func (f *jwksFetcher) logFailure(err error) {
	f.mu.Lock()
	now := time.Now()
	skip := now.Sub(f.lastLog) < failureLogEvery
	if !skip {
		f.lastLog = now
	}
	f.mu.Unlock()
	if !skip {
		f.log.Warn("cannot refresh jwt.jwks_url; keeping the last good key set", "url", f.url, "err", err)
	}
}
