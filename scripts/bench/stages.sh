#!/usr/bin/env bash
# stages.sh PROFILE...: where an edge's CPU time goes, from CPU profiles of `intake serve`
# (make bench-compare PROFILE=dir writes one per run): the share of the samples spent in each
# stage of the request path (cumulative: a stage includes what it calls), then the flat share of
# each package group. Needs the Go toolchain (go tool pprof).
set -euo pipefail
(($# > 0)) || { echo "usage: $0 PROFILE..." >&2; exit 2; }
for f in "$@"; do
  echo "== $f"
  go tool pprof -top -cum -nodecount=100000 "$f" 2>/dev/null | awk '
    /^ *[0-9.]+[a-z]* +[0-9.]+% +[0-9.]+% +[0-9.]+[a-z]* +[0-9.]+%/ {
      cum = $5; name = $6
      for (i = 7; i <= NF; i++) if ($i != "(inline)") name = name " " $i
      if (!(name in seen)) { seen[name] = cum }
    }
    END {
      n = split("HTTP server (fasthttp, the handler included)|github.com/valyala/fasthttp.(*Server).serveConn;" \
        "  the handler (edge)|intake.dev/intake/edge.(*Server).handle;" \
        "    body: one-pass reading (Parser)|intake.dev/intake/fastpath.(*Parser).Parse;" \
        "    body: JSON pre-scan (two-pass reading)|intake.dev/intake/fastpath.checkJSON;" \
        "    body: parse (fastjson)|github.com/valyala/fastjson.(*Parser).ParseBytes;" \
        "    per event: the contract (Process)|intake.dev/intake/fastpath.Process;" \
        "      duplicate keys|intake.dev/intake/fastpath.duplicateKey;" \
        "      enrichment|intake.dev/intake/fastpath.enrich;" \
        "      validation|intake.dev/intake/fastpath.(*Program).Validate;" \
        "      the Kafka value (splice)|intake.dev/intake/fastpath.AppendSpliced;" \
        "      the Kafka value (AppendJSON)|intake.dev/intake/fastpath.AppendJSON;" \
        "    per event: queued for Kafka|intake.dev/intake/kafkaout.(*Producer).TryProduce;" \
        "    waiting for acks|intake.dev/intake/kafkaout.(*Batch).Wait;" \
        "    the answer|intake.dev/intake/edge.(*Server).respondEvents;" \
        "drainers (rings to franz-go)|intake.dev/intake/kafkaout.(*Producer).drain;" \
        "franz-go building produce requests|github.com/twmb/franz-go/pkg/kgo.(*sink).drain;" \
        "franz-go writing produce requests|github.com/twmb/franz-go/pkg/kgo.(*broker).handleReqs;" \
        "  of which compression|intake.dev/intake/kafkaout.(*adaptiveCompressor).Compress;" \
        "franz-go reading answers|github.com/twmb/franz-go/pkg/kgo.(*brokerCxn).handleResps;" \
        "system calls|syscall.Syscall;" \
        "garbage collection|runtime.gcBgMarkWorker", stages, ";")
      for (i = 1; i <= n; i++) {
        split(stages[i], kv, "|")
        v = (kv[2] in seen) ? seen[kv[2]] : "0%"
        printf "  %-44s %7s\n", kv[1], v
      }
    }'
  echo "  -- flat, by package"
  go tool pprof -top -nodecount=100000 "$f" 2>/dev/null | awk '
    /^ *[0-9.]+[a-z]* +[0-9.]+% +[0-9.]+% / {
      flat = $2; sub("%", "", flat); name = $6
      g = "other"
      if (name ~ /^github.com\/valyala\/fasthttp/) g = "fasthttp"
      else if (name ~ /^github.com\/valyala\/fastjson/) g = "fastjson"
      else if (name ~ /^intake.dev\/intake\/fastpath/) g = "intake fastpath"
      else if (name ~ /^intake.dev\/intake\/edge/) g = "intake edge"
      else if (name ~ /^intake.dev\/intake\/kafkaout/) g = "intake kafkaout"
      else if (name ~ /^github.com\/twmb\/franz-go/) g = "franz-go"
      else if (name ~ /^github.com\/klauspost|^github.com\/pierrec/) g = "compression"
      else if (name ~ /^syscall|^internal\/poll|^runtime\/internal\/syscall|^internal\/runtime\/syscall/) g = "system calls"
      else if (name ~ /^runtime\.(gc|mark|scan|greyobject|findObject|heapBits|sweep|wbBuf|bulkBarrier)/) g = "runtime: GC"
      else if (name ~ /^runtime/) g = "runtime: other"
      share[g] += flat
    }
    END { for (g in share) printf "%.1f\t%s\n", share[g], g }' |
    sort -rn | awk -F'\t' '{ printf "  %-44s %6.1f%%\n", $2, $1 }'
done
