-- issues: one slice of the dead (or retrying) deliveries grouped by (source, route, reason), read-only.
-- ARGV: prefix, status (dead | retrying), offset, count, retrying_before (retrying ones received
-- before it count). Returns {scanned, groups...}, each group 11 strings: source, route, reason, count,
-- dead, retrying, first_seen, last_seen, sample id, sample event id, sample error JSON ('' if none).
-- The caller merges the slices, so no call holds Redis for long. The reason is named as
-- events_query.issue_reason names it: the error code, else http_<status>, else why it gave up.
local status, offset, count = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local before = tonumber(ARGV[5])
local members = redis.call('ZRANGE', P .. 'status:' .. status, offset, offset + count - 1)
local function present(v) return v ~= nil and v ~= cjson.null and v ~= false and v ~= '' and v ~= 0 end
local function reason_of(raw)
  if not raw then return 'unknown' end
  local ok, e = pcall(cjson.decode, raw)
  if not ok or type(e) ~= 'table' then return 'unknown' end
  if present(e.code) then return tostring(e.code) end
  if present(e.status) then return 'http_' .. tostring(e.status) end
  if present(e.gave_up) then return tostring(e.gave_up) end
  return 'unknown'
end
local groups, order = {}, {}
for _, m in ipairs(members) do
  local id = sid(m)
  local d = redis.call('HMGET', dkey(id), 'source', 'route', 'status', 'last_error', 'updated_at', 'event_id',
                       'received_at')
  if d[1] and d[3] == status and (status == 'dead' or tonumber(d[7]) < before) then
    local reason = reason_of(d[4])
    local key = d[1] .. '\0' .. d[2] .. '\0' .. reason
    local g = groups[key]
    local updated = tonumber(d[5])
    if not g then
      g = {source = d[1], route = d[2], reason = reason, n = 0, first = d[5], last = d[5], lastn = updated,
           firstn = updated, id = id, event = d[6], err = d[4] or ''}
      groups[key] = g
      order[#order + 1] = key
    end
    g.n = g.n + 1
    if updated < g.firstn then g.first, g.firstn = d[5], updated end
    if updated >= g.lastn then g.last, g.lastn, g.id, g.event, g.err = d[5], updated, id, d[6], d[4] or '' end
  end
end
local out = {#members}
for _, key in ipairs(order) do
  local g = groups[key]
  local dead = status == 'dead' and g.n or 0
  for _, v in ipairs({g.source, g.route, g.reason, g.n, dead, g.n - dead, g.first, g.last, g.id, g.event, g.err}) do
    out[#out + 1] = tostring(v)
  end
end
return out
