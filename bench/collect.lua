-- wrk script: POST batches of 10 valid events with fresh UUID v4 ids to /collect, count the
-- answers by status, and print a JSON summary line (requests, statuses, latency percentiles).
threads = {}

function setup(thread)
  thread:set("seed", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  account = args[1] or "bench"
  statuses = {}
  math.randomseed(os.time() * 1000 + seed * 7919)
end

local function uuid()
  local b = {}
  for i = 1, 16 do b[i] = math.random(0, 255) end
  b[7] = (b[7] % 16) + 64
  b[9] = (b[9] % 64) + 128
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", unpack(b))
end

function request()
  -- Each request is one visitor's session of 10 events, so that sessions end all through a run
  -- with a short --session-timeout.
  local events = {}
  local sid = string.sub(uuid(), 1, 8)
  for i = 1, 10 do
    events[i] = string.format('{"id":"%s","type":"addtobasket","ts":1764201600123,"cid":"c%s","sid":"s%s","uid":null,'
      .. '"url":"https://shop.example/p/4521","store_id":"uk","product_id":"4521","quantity":1}', uuid(), sid, sid)
  end
  local body = '{"v":1,"account":"' .. account .. '","sent_at":1764201600456,"events":[' .. table.concat(events, ",") .. ']}'
  return wrk.format("POST", "/collect", {["Content-Type"] = "text/plain;charset=UTF-8"}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, count in pairs(counts) do total[status] = (total[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(total) do table.insert(parts, string.format('"%d": %d', status, count)) end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"socket_errors": %d, "statuses": {%s}}\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), errors, table.concat(parts, ", ")))
end
