-- renew.lua: extend the concurrency leases of requests still running, so
-- that only the leases of a crashed instance expire. A lease already gone
-- (expired during a Redis outage) is not brought back.
--
-- KEYS: lease sets. ARGV: [1] now in unix ms, or -1 for Redis's clock;
-- [2] lease ms; then one request id per key.
local now = clock(ARGV[1])
local lease = tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + lease, ARGV[2 + i])
  redis.call('PEXPIRE', KEYS[i], lease + 1000)
end
return #KEYS
