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
-- left partial or unavailable by an ERP, or last known-good data served), so a fast answer that gave up
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

  -- A section's provenance names a reason (DEADLINE_EXCEEDED, BACKEND_UNAVAILABLE, ...) only
  -- when the ERP failed or was late; "partial" without a reason is a business answer (an
  -- inactive item has no price), not missing data.
  function response(status, headers, body)
    if status >= 300 or not body then
      return
    end
    -- A complete answer holds none of the three marks anywhere: three plain searches rule it
    -- out, where matching every provenance block cost wrk ~35 us an answer of the CPU it
    -- shares with the gateway (the marks may also appear outside a provenance block, so a
    -- body holding one is checked block by block as before).
    if not (body:find('"reason":"', 1, true)
        or body:find('"degraded":true', 1, true)
        or body:find('"status":"unavailable"', 1, true)) then
      return
    end
    for block in body:gmatch('Provenance":(%b{})') do
      if block:find('"reason":"', 1, true)
        or block:find('"degraded":true', 1, true)
        or block:find('"status":"unavailable"', 1, true) then
        incomplete = incomplete + 1
        return
      end
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
