-- get_tokens when the namespace's :all hash does not hold every token (a namespace written by an
-- earlier release, which kept no :all): KEYS[1] the namespace prefix. Reads every token's hash,
-- writes :all afresh from them, and returns them as flat field/value lists.
local p = KEYS[1]
local out = {}
redis.call('DEL', p .. ':all')
for _, id in ipairs(redis.call('SMEMBERS', p .. ':ids')) do
  local hash = redis.call('HGETALL', p .. ':t:' .. id)
  if #hash > 0 then
    out[#out + 1] = hash
    redis.call('HSET', p .. ':all', id, cjson.encode(hash))
  end
end
return out
