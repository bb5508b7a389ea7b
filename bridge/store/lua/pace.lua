-- pace: compare-and-set of the shared pace state (bridge/delivery/pace.py decides, in Python).
-- ARGV: prefix, the state read before ('' = none yet), the new state. Returns 1 if it was replaced,
-- 0 if another process changed it in between (the caller reads again and retries).
local key = P .. 'pace'
if (redis.call('GET', key) or '') ~= ARGV[2] then return 0 end
redis.call('SET', key, ARGV[3])
return 1
