-- wrk script: the provider's ReEncrypt POST, byte for byte.
-- The request is read from the file named by BENCH_REQUEST (written by
-- run.sh from one real request of bench_reencrypt captured on the wire):
-- header lines "Name: value", an empty line, then the body.  Host and
-- Content-Length are left to wrk (same values as the provider's).
local path = os.getenv("BENCH_REQUEST")
local f = assert(io.open(path, "rb"), "cannot open BENCH_REQUEST=" .. tostring(path))
local raw = f:read("*a")
f:close()
local head, body = raw:match("^(.-)\r?\n\r?\n(.*)$")
assert(head and body, "malformed request file " .. path)

wrk.method = "POST"
wrk.path = "/"
wrk.body = body
for line in head:gmatch("[^\r\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    local lname = name:lower()
    if lname ~= "host" and lname ~= "content-length" then
      wrk.headers[name] = value
    end
  end
end

-- No response() callback: it would make wrk parse every answer in Lua.
-- wrk counts non-2xx/3xx answers itself (summary.errors.status).
done = function(summary, latency, requests)
  io.write(string.format("wrk-result requests=%d non200=%d errors=%d\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
