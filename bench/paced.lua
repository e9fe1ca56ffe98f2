-- wrk script: GET /v1/users/{random user}/recommendations?k=10 at a fixed total rate,
-- latency counted from when each request was due, not from when it was sent.
--
--   wrk -tN -cN -d10s -s bench/paced.lua URL -- RATE N USERS
--
-- N is the number of connections, one per thread (-t equal to -c): each connection sends
-- its requests on a schedule of its own (RATE / N per second, the connections' slots
-- interleaved), one in flight at a time. A request whose slot comes while the one
-- before is still in flight goes out as soon as that answer arrives, and its latency
-- starts at its slot: a stall of the server is charged to every request it held back,
-- as an open-loop client would see it, rather than to one (coordinated omission). A
-- request sent late only because wrk's timers tick in whole milliseconds starts at its
-- send. wrk's own latency table counts from the send; `done` prints the corrected one.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } paced_timespec;
  int clock_gettime(int clock, paced_timespec* ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("paced_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local thread_count = 0
function setup(thread)
  thread:set("index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local interval  -- ms between this connection's slots
local users
local next_slot  -- when this connection's next request is due
local held_back = false  -- the answer before came after the next request's slot
local started  -- when the request in flight counts from
latencies = {}  -- global: done() reads it from every thread
function init(args)
  local rate, connections = tonumber(args[1]), tonumber(args[2])
  users = tonumber(args[3])
  if rate == nil or connections == nil or users == nil then
    error("usage: wrk -tN -cN -s paced.lua URL -- RATE N USERS")
  end
  math.randomseed(7 + index)
  interval = 1000 * connections / rate
  next_slot = now_ms() + interval * index / connections
end

function request()
  -- Held back past its slot by the answer before it: counted from the slot. Otherwise
  -- from the send (which wrk's millisecond timers make up to a tick late).
  local now = now_ms()
  started = held_back and next_slot or now
  next_slot = next_slot + interval
  return wrk.format("GET", "/v1/users/" .. math.random(0, users - 1) ..
    "/recommendations?k=10")
end

-- Called before each request of a connection, so once the answer before it has arrived
-- (wrk counts answers that are not 2xx itself): no response() callback, which would have
-- wrk hand every answer's headers and body to Lua.
function delay()
  local now = now_ms()
  if started ~= nil then latencies[#latencies + 1] = now - started end
  local wait = next_slot - now
  held_back = wait <= 0
  if held_back then return 0 end
  return math.ceil(wait)
end

function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for _, ms in ipairs(thread:get("latencies")) do all[#all + 1] = ms end
  end
  table.sort(all)
  local function at(q) return all[math.max(1, math.ceil(q * #all))] end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "paced, %d connections: %d answers in %.1f s (%.0f/s); latency from the slot: " ..
    "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
    thread_count, #all, seconds, #all / seconds, at(0.5), at(0.9), at(0.99), at(0.999),
    all[#all]))
end
