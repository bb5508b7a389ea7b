-- Shared by every script (prepended by bridge/store/redis.py). ARGV[1] is the key prefix.
-- Keys: <P>seq  <P>d:<id>  <P>e:<json [source, event id]>  <P>events  <P>all  <P>status:<s>
--       <P>due  <P>done  <P>dead  <P>flight  <P>f:<opportunity id>  <P>ftouch  <P>claim:<token>
--       <P>hold (target → held until)  <P>pace (the shared pace state, JSON)
-- Sorted-set members are zero-padded ids, so equal scores keep id (received) order.
local P = ARGV[1]
local function sid(n) return string.format('%d', tonumber(n)) end
local function member(id) return string.format('%016d', tonumber(id)) end
local function dkey(id) return P .. 'd:' .. id end
local function move_status(id, from, to)
  local m = member(id)
  if from then redis.call('ZREM', P .. 'status:' .. from, m) end
  if to then redis.call('ZADD', P .. 'status:' .. to, tonumber(id), m) end
end
local function release_flight(id, target)
  if target and redis.call('HGET', P .. 'flight', target) == id then
    redis.call('HDEL', P .. 'flight', target)
  end
end
