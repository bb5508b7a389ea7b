-- Shared by every script (prepended by bridge/store/redis.py). ARGV[1] is the key prefix.
-- Keys: <P>seq  <P>d:<id>  <P>e:<json [source, event id]>  <P>events  <P>all  <P>status:<s>
--       <P>due  <P>done  <P>dead  <P>flight  <P>f:<opportunity id>  <P>ftouch  <P>claim:<token>
--       <P>eseq  <P>ev:all  <P>ev:src:<source>  <P>ev:out:<outcome>  <P>ev:type:<type>  <P>dopp:<target key>
--       <P>att:<id>  <P>hold (target → held until)  <P>pace (the shared pace state, JSON)
-- Sorted-set members are zero-padded ids, so equal scores keep id (received) order.
-- The event indexes ev:* (the console's event list) score each event by received_at; their member is
-- the event's sequence number (16 digits, so ties keep arrival order) followed by its event member;
-- each delivery keeps its event's index member too (field imember), to find its event in one read.
-- dopp:<target key> holds the deliveries of one target (and dopp:id:<opportunity> once resolved);
-- att:<id> is one delivery's attempt log (JSON entries, the newest few).
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
local function index_event(ekey, received_at, source, outcome, kind, event_member)
  local seq = redis.call('INCR', P .. 'eseq')
  local im = string.format('%016d', seq) .. event_member
  redis.call('HSET', ekey, 'seq', seq, 'imember', im)
  redis.call('ZADD', P .. 'ev:all', received_at, im)
  redis.call('ZADD', P .. 'ev:src:' .. source, received_at, im)
  redis.call('ZADD', P .. 'ev:out:' .. outcome, received_at, im)
  if kind then redis.call('ZADD', P .. 'ev:type:' .. kind, received_at, im) end
  return im
end
local function index_target(id, target)
  if target and target ~= 'unresolved' then redis.call('ZADD', P .. 'dopp:' .. target, tonumber(id), member(id)) end
end
