-- One request shape per run: method, body and headers come from the environment so the
-- harness can drive every endpoint with one script.
local body_file = os.getenv("WRK_BODY")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "r"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
local key = os.getenv("WRK_API_KEY")
if key and key ~= "" then
  wrk.headers["X-API-Key"] = key
end

-- WRK_COUNT_INCOMPLETE=1: also count 2xx answers built without all their data (a section
-- "partial" or "unavailable", or last known-good data served), so a fast answer that gave up
-- on a slow ERP is not mistaken for a fast complete one. Off by default: reading every body
-- costs wrk time.
if os.getenv("WRK_COUNT_INCOMPLETE") == "1" then
  local threads = {}

  function setup(thread)
    table.insert(threads, thread)
  end

  function init(args)
    incomplete = 0
  end

  function response(status, headers, body)
    if status < 300 and body and (
      body:find('Provenance":{"status":"partial"', 1, true)
      or body:find('Provenance":{"status":"unavailable"', 1, true)
      or body:find('"degraded":true', 1, true)
    ) then
      incomplete = incomplete + 1
    end
  end

  function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do
      total = total + (thread:get("incomplete") or 0)
    end
    io.write(string.format("Incomplete answers: %d\n", total))
  end
end
