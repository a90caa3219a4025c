-- wrk script: POST one event (the file named by the EVENT environment variable) to /v1/events.
local f = assert(io.open(os.getenv("EVENT") or "examples/events/click.json", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
