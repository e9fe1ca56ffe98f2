-- wrk script: GET /v1/users/{random user}/recommendations?k=10 at a fixed total rate,
-- latency counted from when each request was due, not from when it was sent.
--
--   wrk -tT -cC -d10s -s bench/paced.lua URL -- RATE T USERS
--
-- T is the number of wrk threads (-t). Each thread sends RATE / T requests a second on a
-- schedule of its own (the threads' slots interleaved) over its C / T connections, one
-- request in flight on each: a connection that is free takes the thread's next slot and
-- sends when it comes. So many connections on one thread act as a crowd of clients, a
-- request waiting for no other; one connection per thread (-t equal to -c) is a client
-- that sends its requests one after the other.
--
-- A slot that comes while every connection of its thread is busy goes out as soon as one
-- is free, and its latency starts at the slot: a stall of the server is charged to every
-- request it held back, as an open-loop client would see it, rather than to one
-- (coordinated omission). A request sent late only because wrk's timers tick in whole
-- milliseconds starts at its send. wrk's own latency table counts from the send; `done`
-- prints the corrected one.
--
-- wrk tells a script neither which connection an answer came on nor which request it
-- answers, so each answer is matched to its request by the user id the answer begins
-- with. Answers without one (errors: wrk counts answers that are not 2xx itself) are
-- counted as unmatched and left out of the latencies.
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

local interval  -- ms between this thread's slots
local users
local next_slot  -- the thread's next slot that no connection has taken
-- Slots taken by connections that wait for them, in the order taken: the slot when it
-- had passed already (counted from the slot), else false (counted from the send).
local taken, first_taken, last_taken = {}, 1, 0
local in_flight = {}  -- user id -> when its request counts from (a list if several)
latencies = {}  -- global: done() reads them from every thread
unmatched = 0

function init(args)
  local rate, thread_arg = tonumber(args[1]), tonumber(args[2])
  users = tonumber(args[3])
  if rate == nil or thread_arg == nil or users == nil then
    error("usage: wrk -tT -cC -s paced.lua URL -- RATE T USERS")
  end
  math.randomseed(7 + index)
  interval = 1000 * thread_arg / rate
  next_slot = now_ms() + interval * index / thread_arg
end

-- Called when a connection is free (connected, or its answer arrived): it takes the
-- thread's next slot and waits for it.
function delay()
  local now = now_ms()
  local slot = next_slot
  next_slot = slot + interval
  local wait = slot - now
  last_taken = last_taken + 1
  if wait <= 0 then
    taken[last_taken] = slot
    return 0
  end
  taken[last_taken] = false
  return math.ceil(wait)
end

-- Called when a connection's wait is over. Waits end in about the order the slots were
-- taken; where two swap (within wrk's millisecond tick), the only error is whether a
-- request counts from its send or from a slot that had passed anyway.
function request()
  local now = now_ms()
  local slot = taken[first_taken]
  taken[first_taken] = nil
  first_taken = first_taken + 1
  local started = slot or now
  local user = tostring(math.random(0, users - 1))
  local pending = in_flight[user]
  if pending == nil then
    in_flight[user] = started
  elseif type(pending) == "table" then
    pending[#pending + 1] = started
  else
    in_flight[user] = {pending, started}
  end
  return wrk.format("GET", "/v1/users/" .. user .. "/recommendations?k=10")
end

function response(status, headers, body)
  local now = now_ms()
  local user = string.match(body, '^{"user_id":"([^"]*)"')
  local pending = user and in_flight[user]
  if not pending then
    unmatched = unmatched + 1
    return
  end
  local started = pending
  if type(pending) == "table" then
    started = table.remove(pending, 1)
    if #pending == 0 then in_flight[user] = nil end
  else
    in_flight[user] = nil
  end
  latencies[#latencies + 1] = now - started
end

function done(summary, latency, requests)
  local all = {}
  local lost = 0
  for _, thread in ipairs(threads) do
    for _, ms in ipairs(thread:get("latencies")) do all[#all + 1] = ms end
    lost = lost + thread:get("unmatched")
  end
  table.sort(all)
  local function at(q) return all[math.max(1, math.ceil(q * #all))] end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "paced, %d threads: %d answers in %.1f s (%.0f/s), %d unmatched; " ..
    "latency from the slot: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, " ..
    "max %.2f ms\n",
    thread_count, #all, seconds, #all / seconds, lost, at(0.5), at(0.9), at(0.99), at(0.999),
    all[#all]))
end
