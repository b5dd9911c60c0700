"""The fleet's atomic steps, as Lua scripts run inside Redis.

Layouts they share:

- a queued request (a member of ``…:feed:{feed}:requests``, scored by
  ``-priority``) is ``{infoCode}\\n{request as JSON}``, the infoCode empty
  for a listing page;
- a held request (a field ``{feed}|{seq}`` of ``…:held:{worker}``) is
  ``{feed}\\n{score}\\n{queued member}``: enough to queue it again when the
  worker dies; ``{feed}|start`` marks a worker still queueing its start requests;
- a claim (``…:claims``: infoCode → owner) holds while its owner is alive
  (``…:alive:{worker}`` exists) or, for ``q:{feed}`` (the article request is
  queued), while that feed's run lasts.
"""

from __future__ import annotations

_OWNER_HOLDS = """
local function owner_holds(prefix, owner)
  if string.sub(owner, 1, 2) == 'q:' then
    return redis.call('EXISTS', prefix .. ':feed:' .. string.sub(owner, 3) .. ':run') == 1
  end
  return redis.call('EXISTS', prefix .. ':alive:' .. owner) == 1
end
"""

# KEYS: mirrored, dropped, claims
# ARGV: prefix, infoCode, worker, now, retry window (s)
# -> 0 known (mirrored or dropped recently), 1 claimed by a live owner, 2 claimed now
CLAIM = (
    _OWNER_HOLDS
    + """
local code = ARGV[2]
if redis.call('SISMEMBER', KEYS[1], code) == 1 then return 0 end
local dropped = redis.call('HGET', KEYS[2], code)
if dropped and tonumber(ARGV[4]) < tonumber(dropped) + tonumber(ARGV[5]) then return 0 end
local owner = redis.call('HGET', KEYS[3], code)
if owner and (owner == ARGV[3] or owner_holds(ARGV[1], owner)) then return 1 end
redis.call('HSET', KEYS[3], code, ARGV[3])
return 2
"""
)

# KEYS: mirrored, claims, posts
# ARGV: infoCode, payload to push on posts (handoff) or ''
# -> 1 recorded now, 0 mirrored already
COMMIT = """
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[2]) end
return 1
"""

# KEYS: mirrored, claims; ARGV: the infoCodes of posts written in the folder
RECORD = """
for _, code in ipairs(ARGV) do
  redis.call('HDEL', KEYS[2], code)
  redis.call('SADD', KEYS[1], code)
end
return #ARGV
"""

# KEYS: queue, claims; ARGV: feed, then (score, member, infoCode) for each request
PUSH = """
for i = 2, #ARGV, 3 do
  redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= '' then redis.call('HSET', KEYS[2], ARGV[i + 2], 'q:' .. ARGV[1]) end
end
return (#ARGV - 1) / 3
"""

# KEYS: queue, held (mine), claims, seq; ARGV: feed, worker, how many at most
# -> {field, member, field, member, …}: requests moved from the queue to what I hold
POP = """
local top = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
local out = {}
for i = 1, #top, 2 do
  local member, score = top[i], top[i + 1]
  redis.call('ZREM', KEYS[1], member)
  local field = ARGV[1] .. '|' .. redis.call('INCR', KEYS[4])
  redis.call('HSET', KEYS[2], field, ARGV[1] .. '\\n' .. score .. '\\n' .. member)
  local nl = string.find(member, '\\n', 1, true)
  local code = ''  -- none in an entry someone else wrote: the worker skips it
  if nl then code = string.sub(member, 1, nl - 1) end
  if code ~= '' then redis.call('HSET', KEYS[3], code, ARGV[2]) end
  out[#out + 1] = field
  out[#out + 1] = member
end
return out
"""

# KEYS: workers; ARGV: prefix
# Queues again what dead workers held (an article only while its claim is
# still theirs), marks runs whose start a dead worker left unfinished as cut
# short, and forgets the dead. -> {requests queued again, dead worker ids...}
RECOVER = """
local prefix = ARGV[1]
local claims = prefix .. ':claims'
local requeued = 0
local dead = {}
for _, w in ipairs(redis.call('HKEYS', KEYS[1])) do
  if redis.call('EXISTS', prefix .. ':alive:' .. w) == 0 then
    table.insert(dead, w)
    local held = redis.call('HGETALL', prefix .. ':held:' .. w)
    for i = 1, #held, 2 do
      local field, value = held[i], held[i + 1]
      local bar = string.find(field, '|', 1, true)
      local feed = string.sub(field, 1, bar - 1)
      if string.sub(field, bar + 1) == 'start' then
        redis.call('HSET', prefix .. ':feed:' .. feed .. ':run', 'lost', '1')
      else
        local a = string.find(value, '\\n', 1, true)
        local b = string.find(value, '\\n', a + 1, true)
        local score = string.sub(value, a + 1, b - 1)
        local member = string.sub(value, b + 1)
        local c = string.find(member, '\\n', 1, true)
        local code = ''
        if c then code = string.sub(member, 1, c - 1) end
        local again = true
        if code ~= '' then
          if redis.call('HGET', claims, code) == w then
            redis.call('HSET', claims, code, 'q:' .. feed)
          else
            again = false  -- written, released, or claimed anew by a live worker
          end
        end
        if again then
          redis.call('ZADD', prefix .. ':feed:' .. feed .. ':requests', score, member)
          requeued = requeued + 1
        end
      end
    end
    redis.call('DEL', prefix .. ':held:' .. w)
    redis.call('HDEL', KEYS[1], w)
  end
end
table.insert(dead, 1, requeued)
return dead
"""

# KEYS: run, walk, walked, last tick, held (mine), dupefilter, ended, members
# ARGV: worker, feed, tick ('' for none), now, id for a new run, prefix
# -> {run id, resume flag}; run id '' when this tick's run is over already
#    (without a tick: when a run ended within FLEET_RUN_GRACE). A run whose
#    workers all died is taken over: its queue and what they held are done,
#    its listings read again and walked on past known pages.
JOIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[3] ~= '' then
    if redis.call('GET', KEYS[4]) == ARGV[3] then return {'', '0'} end
  elseif redis.call('EXISTS', KEYS[7]) == 1 then
    return {'', '0'}
  end
  local resume = '0'
  if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 0 then
    resume = '1'
  end
  redis.call('DEL', KEYS[6], KEYS[8])
  redis.call('HSET', KEYS[1], 'id', ARGV[5], 'tick', ARGV[3], 'resume', resume,
             'started', ARGV[4], 'by', ARGV[1])
  redis.call('SET', KEYS[2], ARGV[5])
  if ARGV[3] ~= '' then redis.call('SET', KEYS[4], ARGV[3]) end
else
  local orphan = true
  for _, w in ipairs(redis.call('SMEMBERS', KEYS[8])) do
    if redis.call('EXISTS', ARGV[6] .. ':alive:' .. w) == 1 then orphan = false end
  end
  if orphan then
    redis.call('DEL', KEYS[6], KEYS[8])
    redis.call('HSET', KEYS[1], 'resume', '1', 'taken_over', ARGV[4])
  end
end
redis.call('SADD', KEYS[8], ARGV[1])
redis.call('HSET', KEYS[5], ARGV[2] .. '|start', '1')
return redis.call('HMGET', KEYS[1], 'id', 'resume')
"""

# KEYS: queue, run, walk, walked, dupefilter, workers, ended
# ARGV: prefix, feed, my run id, grace ms
# -> 1 the run is over (now, or another worker saw it end), 0 work remains
FINISH = """
if redis.call('HGET', KEYS[2], 'id') ~= ARGV[3] then return 1 end
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
local mine = ARGV[2] .. '|'
for _, w in ipairs(redis.call('HKEYS', KEYS[6])) do
  for _, field in ipairs(redis.call('HKEYS', ARGV[1] .. ':held:' .. w)) do
    if string.sub(field, 1, #mine) == mine then return 0 end
  end
end
if redis.call('HGET', KEYS[2], 'lost') ~= '1' then
  redis.call('DEL', KEYS[3])
  redis.call('SET', KEYS[4], ARGV[3])
end
redis.call('DEL', KEYS[2], KEYS[5], ARGV[1] .. ':feed:' .. ARGV[2] .. ':members')
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[7], ARGV[3], 'PX', ARGV[4]) end
return 1
"""

# KEYS: leases (zset member -> expiry ms), next start (ms)
# ARGV: limit, delay ms, lease ttl ms, member
# -> 0 granted; > 0 ms to wait for the delay; -1 every permit is taken
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return nxt - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
local delay = tonumber(ARGV[2])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay + 1000) end
return 0
"""

# KEYS: leases…; ARGV: ttl ms, then the members to extend (each in KEYS[i])
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', key, tonumber(ARGV[1]) * 2)
end
return #KEYS
"""
