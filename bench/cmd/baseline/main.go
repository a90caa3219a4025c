package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8193", "address to listen on")
	flag.Parse()
	h := func(ctx *fasthttp.RequestCtx) {
		_ = ctx.PostBody() // the body, read in full by fasthttp before the handler runs, as for the edge
		ctx.SetStatusCode(fasthttp.StatusCreated)
	}
	log.Printf("baseline: bare fasthttp answering 201 on %s", *listen)
	log.Fatal(fasthttp.ListenAndServe(*listen, h))
}
