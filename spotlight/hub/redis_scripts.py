"""The Lua scripts the Redis backend and the leader lease run (each one atomic in Redis).

Keys, under the deployment's prefix ``P`` (``SPOTLIGHT_REDIS_PREFIX``):

- ``P:epoch``   the stream's identity, ``<id>:<start ms>``; a new one whenever the stream
                and its counter start over (Redis lost its data, or a replica lost a suffix)
- ``P:seq``     the sequence counter (INCRBY)
- ``P:stream``  the history: one entry per event, entry id ``<seq>-0``
- ``P:lease``   the market leader's lease, ``<node>:<fencing token>``, with a TTL
- ``P:fence``   the fencing-token counter (INCR): every lease gets a larger token
- ``P:batch:<node>``  the last batch number a node's writer had applied (idempotent retry)

Stream entry fields: ``y`` event type, ``t`` topic, ``c`` conflation key ('' for none),
``d`` the JSON payload, ``w`` Redis's clock at publish (ms), ``f`` the publisher's lease.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "ENSURE_EPOCH", "PUBLISH", "RELEASE", "RENEW", "ROTATE_EPOCH"]

# KEYS: epoch, seq, stream. ARGV: a fresh epoch value, used only if there is none.
# Returns {epoch, counter}. A missing epoch means the data is gone (or was never there): the
# stream and the counter are reset with it, so a new epoch never inherits stray entries.
ENSURE_EPOCH = """
local e = redis.call('GET', KEYS[1])
if not e then
  redis.call('DEL', KEYS[3])
  redis.call('SET', KEYS[2], 0)
  redis.call('SET', KEYS[1], ARGV[1])
  e = ARGV[1]
end
return {e, redis.call('GET', KEYS[2]) or '0'}
"""

# KEYS: epoch, seq, stream. ARGV: the epoch found inconsistent, its replacement.
# Compare-and-set, so when several nodes detect the same loss only one new epoch is made.
ROTATE_EPOCH = """
local e = redis.call('GET', KEYS[1])
if (not e) or e == ARGV[1] then
  redis.call('DEL', KEYS[3])
  redis.call('SET', KEYS[2], 0)
  redis.call('SET', KEYS[1], ARGV[2])
  e = ARGV[2]
end
return e
"""

# KEYS: epoch, seq, stream, lease, batch. ARGV: epoch, lease value (the fencing token),
# batch number, max entries, max age ms, then 4 per event: type, topic, conflation key, data.
# Returns the last seq given (0 when this batch was already applied: a retry after a lost
# reply). Checks come first, so a deposed leader or a stale epoch changes nothing.
PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('EPOCH the stream epoch changed')
end
if redis.call('GET', KEYS[4]) ~= ARGV[2] then
  return redis.error_reply('FENCED the lease is not held by this publisher')
end
local batch = tonumber(ARGV[3])
if batch <= tonumber(redis.call('GET', KEYS[5]) or '0') then
  return 0
end
redis.call('SET', KEYS[5], batch, 'PX', 86400000)
local n = (#ARGV - 5) / 4
local last = redis.call('INCRBY', KEYS[2], n)
local first = last - n + 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 0, n - 1 do
  local b = 6 + 4 * i
  redis.call('XADD', KEYS[3], (first + i) .. '-0', 'y', ARGV[b], 't', ARGV[b + 1],
    'c', ARGV[b + 2], 'd', ARGV[b + 3], 'w', now, 'f', ARGV[2])
end
redis.call('XTRIM', KEYS[3], 'MAXLEN', '~', ARGV[4])
-- Age: look at the oldest entries only (bounded work per call; the next call goes on).
local horizon = now - tonumber(ARGV[5])
local cut = nil
for _, e in ipairs(redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 256)) do
  if tonumber(e[2][10]) < horizon then cut = e[1] else break end
end
if cut then
  redis.call('XTRIM', KEYS[3], 'MINID', (tonumber(string.match(cut, '^(%d+)')) + 1) .. '-0')
end
return last
"""

# KEYS: lease, fence. ARGV: node id, ttl ms. Returns the lease value or false.
ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local v = ARGV[1] .. ':' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return v
"""

# KEYS: lease. ARGV: lease value, ttl ms. 1 = renewed, 0 = not ours any more.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: lease. ARGV: lease value. A clean shutdown hands over at once instead of after a TTL.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
