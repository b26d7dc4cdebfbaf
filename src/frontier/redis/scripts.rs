//! The Lua scripts that change the shared frontier. Each runs atomically in
//! Redis and handles a whole batch, so a batch costs one round trip and a
//! few commands, whatever its size (Redis counts the commands a script
//! calls in `INFO commandstats` too, so they are batched inside as well).
//!
//! Keys, under the crawl's prefix (`crawler:<name>:`):
//! - `url`: hash, URL → its state (JSON: origin, lineage, title, validators, round);
//! - `seen:<round>`: set of URL fingerprints queued in a round (0: the service);
//! - `due:<p>`: sorted set of the URLs of partition `p` waiting, by due time
//!   (a discovered URL's score is its depth: it comes before any time);
//! - `lease:<p>`: the URLs of `p` in flight, scored as they were in `due:<p>`;
//! - `ready`: partitions with something waiting, by their earliest score;
//! - `owners`: hash, partition → `node|until` (or `~|released-at`);
//! - `epoch`: hash, partition → its fencing token, bumped each time a node
//!   takes it: a claim hands it out, and a commit or give-back that carries
//!   an older one is refused (the partition changed hands meanwhile);
//! - `nodes`: hash, node → when its lease runs out; `busy`: node → URLs in flight;
//! - `seeds`: hash, seed URL → the listing that named it last; `meta`: counters;
//! - `hosts`: hash, host → URLs it has in the crawl (`max_pages_per_host`);
//! - `history:<url>`: list, the URL's title changes, newest first (at most
//!   `MAX_HISTORY`), each `{"a": ms, "f": from, "t": to}`;
//! - `outcomes`: hash, outcome (`ok`, `not_modified`, an error kind) → URLs
//!   whose last fetch ended so (each URL's own is `x` in its state);
//! - `rendered`: URLs whose last record was rendered in Chromium (each
//!   URL's own is `j` in its state);
//! - `report`: hash, URL → what its last fetch was like, for reports (JSON,
//!   see `Details`); `links`: hash, page URL → its outgoing links with their
//!   anchor texts (the link graph, see `encode_outlinks`);
//! - `fetching`: hash, node → requests it has running now (its heartbeat);
//! - `configs`: hash, node → the config it published; `robots:<origin>`: a shared robots.txt;
//! - `outbox`: hash, notification id → the notification (JSON); `outbox:due`:
//!   sorted set, id → when it may be taken (a taken one is hidden for its
//!   lease); `outbox:age`: id → when it was queued; `outbox:tries`: id →
//!   deliveries tried; `outbox:owner`: id → the `node|incarnation` delivering it.

use std::sync::LazyLock;

use redis::Script;

/// Shared Lua helpers, prepended to every script.
const PRELUDE: &str = r"
local prefix = ARGV[1]
local CHUNK = 1000
local function each_chunk(list, action)
  for first = 1, #list, CHUNK do
    local last = math.min(first + CHUNK - 1, #list)
    action(unpack(list, first, last))
  end
end
local function call_chunked(command, key, list)
  each_chunk(list, function(...) redis.call(command, key, ...) end)
end
local function hmget(key, fields)
  local values = {}
  each_chunk(fields, function(...)
    local got = redis.call('HMGET', key, ...)
    for i = 1, #got do values[#values + 1] = got[i] end
  end)
  return values
end
local function smismember(key, members)
  local flags = {}
  each_chunk(members, function(...)
    local got = redis.call('SMISMEMBER', key, ...)
    for i = 1, #got do flags[#flags + 1] = got[i] end
  end)
  return flags
end
-- Adds score/member pairs to due:<p> per partition, keeping `ready` up to date.
local function enqueue(by_partition, flag)
  for p, list in pairs(by_partition) do
    local lowest = nil
    for i = 1, #list, 2 do
      local score = tonumber(list[i])
      if lowest == nil or score < lowest then lowest = score end
    end
    if flag then
      each_chunk(list, function(...) redis.call('ZADD', prefix .. 'due:' .. p, flag, ...) end)
    else
      call_chunked('ZADD', prefix .. 'due:' .. p, list)
    end
    redis.call('ZADD', prefix .. 'ready', 'LT', lowest, p)
  end
end
local function push(map, key, ...)
  local list = map[key]
  if list == nil then list = {}; map[key] = list end
  for _, value in ipairs({...}) do list[#list + 1] = value end
end
local function decode(text)
  if text then return cjson.decode(text) end
  return nil
end
-- Fencing: whether a result or give-back claimed under `epoch` (a number;
-- anything else: no claim known) comes after partition p changed hands.
local epochs = {}
local function is_fenced(p, epoch)
  if type(epoch) ~= 'number' then return false end
  p = tostring(p)
  if epochs[p] == nil then
    epochs[p] = tonumber(redis.call('HGET', prefix .. 'epoch', p) or '0')
  end
  return epoch ~= epochs[p]
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

/// Claims up to `ARGV[4]` URLs due by `ARGV[3]` (ms) from the partitions in
/// `ARGV[6..]` that node `ARGV[2]` owns, and records that the node now holds
/// `ARGV[5]` more in flight (in the same step, so that no other node sees
/// the crawl idle in between). Returns flat (partition, url, score, state,
/// epoch) quintuples.
pub static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local node, now, left = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local held = tonumber(ARGV[5])
local wanted = {}
for i = 6, #ARGV do wanted[ARGV[i]] = true end
local out = {}
local ready = redis.call('ZRANGEBYSCORE', prefix .. 'ready', '-inf', now)
for _, p in ipairs(ready) do
  if left <= 0 then break end
  local owner = redis.call('HGET', prefix .. 'owners', p)
  if wanted[p] and owner and string.sub(owner, 1, #node + 1) == node .. '|' then
    local due = prefix .. 'due:' .. p
    local items = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'WITHSCORES', 'LIMIT', 0, left)
    if #items > 0 then
      local epoch = redis.call('HGET', prefix .. 'epoch', p) or '0'
      local urls, leased = {}, {}
      for i = 1, #items, 2 do
        urls[#urls + 1] = items[i]
        leased[#leased + 1] = items[i + 1]
        leased[#leased + 1] = items[i]
      end
      call_chunked('ZREM', due, urls)
      call_chunked('ZADD', prefix .. 'lease:' .. p, leased)
      local states = hmget(prefix .. 'url', urls)
      for i = 1, #urls do
        out[#out + 1] = p
        out[#out + 1] = urls[i]
        out[#out + 1] = leased[2 * i - 1]
        out[#out + 1] = states[i] or ''
        out[#out + 1] = epoch
      end
      left = left - #urls
    end
    local first = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
    if #first == 0 then
      redis.call('ZREM', prefix .. 'ready', p)
    else
      redis.call('ZADD', prefix .. 'ready', first[2], p)
    end
  end
end
if #out > 0 then redis.call('HSET', prefix .. 'busy', node, held + #out / 5) end
return out
",
    )
});

/// Commits a batch (`ARGV[2]`, JSON): finished URLs (their state merged, their
/// lease dropped, their next due time set) and the links found, which are
/// queued when their fingerprint is new in the round and, for a URL new
/// to the crawl, its host has room (a host counts each of its URLs once).
/// `ARGV[3]` is the node, `ARGV[4]` its URLs still in flight.
/// A finished URL whose epoch (its 12th item; null: none known) is not its
/// partition's now is left out whole: another node took the partition
/// over and owns the URL's result. Returns {queued, over the host limit,
/// notifications refused, results refused as stale}.
pub static COMMIT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local batch = cjson.decode(ARGV[2])
redis.call('HSET', prefix .. 'busy', ARGV[3], ARGV[4])
-- Results of a partition that changed hands since the claim are left out.
local fresh, stale = {}, 0
for _, done in ipairs(batch.done) do
  if is_fenced(done[1], done[12]) then
    stale = stale + 1
  else
    fresh[#fresh + 1] = done
  end
end
batch.done = fresh
local states = {}   -- url -> state table, written at the end
local due = {}      -- partition -> score/url pairs
local leases = {}   -- partition -> urls
-- Finished URLs.
local done_urls = {}
for i, done in ipairs(batch.done) do done_urls[i] = done[2] end
local old = hmget(prefix .. 'url', done_urls)
local outcomes = {} -- kind -> change of its count
local notices = {}  -- {id, target, json} for the outbox
local rendered_change = 0 -- change of the count of URLs last rendered
local reports, outlinks, unlinked = {}, {}, {}
for i, done in ipairs(batch.done) do
  local p, url, score, page, kind, change = done[1], done[2], done[3], done[4], done[5], done[6]
  for _, notice in ipairs(done[8]) do notices[#notices + 1] = notice end
  if type(change) == 'table' then
    local history = prefix .. 'history:' .. url
    redis.call('LPUSH', history, cjson.encode(change))
    redis.call('LTRIM', history, 0, batch.history - 1)
  end
  local state = decode(old[i]) or {o = 'd'}
  if type(kind) == 'string' and state.x ~= kind then
    if state.x then outcomes[state.x] = (outcomes[state.x] or 0) - 1 end
    outcomes[kind] = (outcomes[kind] or 0) + 1
    state.x = kind
  end
  if type(page) == 'table' then
    state.k = 1
    state.t = page.t; state.e = page.e; state.m = page.m
  end
  if type(done[7]) == 'string' then state.w = done[7] end
  if type(done[10]) == 'string' then reports[#reports + 1] = url; reports[#reports + 1] = done[10] end
  if type(done[11]) == 'number' then
    outlinks[#outlinks + 1] = url; outlinks[#outlinks + 1] = ARGV[4 + done[11]]
  elseif done[11] == true then
    unlinked[#unlinked + 1] = url
  end
  local rendered = done[9] == true and 1 or nil
  if rendered ~= state.j then
    rendered_change = rendered_change + (rendered and 1 or -1)
    state.j = rendered
  end
  state.r = math.max(state.r or 0, batch.round)
  state.at = batch.now
  states[url] = state
  push(leases, p, url)
  if score >= 0 and (state.o == 'd' or state.a == 1) then push(due, p, score, url) end
end
for kind, change in pairs(outcomes) do
  if change ~= 0 then redis.call('HINCRBY', prefix .. 'outcomes', kind, change) end
end
if rendered_change ~= 0 then redis.call('INCRBY', prefix .. 'rendered', rendered_change) end
if #reports > 0 then call_chunked('HSET', prefix .. 'report', reports) end
if #outlinks > 0 then call_chunked('HSET', prefix .. 'links', outlinks) end
if #unlinked > 0 then call_chunked('HDEL', prefix .. 'links', unlinked) end
-- Notifications: queued once per id, as far as the outbox has room.
local refused = 0
if #notices > 0 then
  local room = batch.outbox_max - redis.call('ZCARD', prefix .. 'outbox:age')
  for _, notice in ipairs(notices) do
    if room <= 0 then
      refused = refused + 1
    elseif redis.call('HSETNX', prefix .. 'outbox', notice[1], notice[3]) == 1 then
      redis.call('ZADD', prefix .. 'outbox:due', batch.now, notice[1])
      redis.call('ZADD', prefix .. 'outbox:age', batch.now, notice[1])
      room = room - 1
    end
  end
end
-- Final URLs of redirects count as fetched in the round.
if #batch.mark > 0 then call_chunked('SADD', prefix .. batch.seen, batch.mark) end
-- Links.
local queued, over = 0, 0
local fps, links, hosts, host_list = {}, {}, {}, {}
for _, group in ipairs(batch.groups) do
  for _, link in ipairs(group.links) do
    fps[#fps + 1] = link[1]
    links[#links + 1] = {link, group}
    if hosts[link[4]] == nil then hosts[link[4]] = 0; host_list[#host_list + 1] = link[4] end
  end
end
if #fps > 0 then
  local flags = smismember(prefix .. batch.seen, fps)
  local counts = hmget(prefix .. 'hosts', host_list)
  for i, host in ipairs(host_list) do hosts[host] = tonumber(counts[i]) or 0 end
  -- Links new to the round; of those, the ones new to the crawl count
  -- against their host's limit (a URL the host has is queued again).
  local unseen, unseen_urls = {}, {}
  for i, pair in ipairs(links) do
    if flags[i] == 0 then
      unseen[#unseen + 1] = pair
      unseen_urls[#unseen_urls + 1] = pair[1][3]
    end
  end
  local known = {}
  if #unseen > 0 then known = hmget(prefix .. 'url', unseen_urls) end
  local new_fps, changed = {}, {}
  for i, pair in ipairs(unseen) do
    local link, group = pair[1], pair[2]
    local existing = states[link[3]]
    local state = existing or decode(known[i])
    local room = true
    if state == nil then
      local host = link[4]
      room = hosts[host] < batch.max
      if room then
        hosts[host] = hosts[host] + 1
        changed[host] = true
      end
    end
    if room then
      if existing == nil then
        state = state or {}
        if state.o ~= 's' then
          state.o = 'd'; state.d = group.d; state.s = group.s; state.f = group.f; state.p = group.p
        end
        states[link[3]] = state
      end
      new_fps[#new_fps + 1] = link[1]
      push(due, link[2], group.d, link[3])
    else
      over = over + 1
    end
  end
  if #new_fps > 0 then call_chunked('SADD', prefix .. batch.seen, new_fps) end
  queued = #new_fps
  local host_counts = {}
  for host, _ in pairs(changed) do
    host_counts[#host_counts + 1] = host
    host_counts[#host_counts + 1] = hosts[host]
  end
  if #host_counts > 0 then call_chunked('HSET', prefix .. 'hosts', host_counts) end
end
local fields = {}
for url, state in pairs(states) do
  fields[#fields + 1] = url
  fields[#fields + 1] = cjson.encode(state)
end
if #fields > 0 then call_chunked('HSET', prefix .. 'url', fields) end
for p, urls in pairs(leases) do call_chunked('ZREM', prefix .. 'lease:' .. p, urls) end
enqueue(due, nil)
return {queued, over, refused, stale}
",
    )
});

/// Lists a batch of seeds (`ARGV[2]`, JSON: round, generation, now, seeds as
/// [fingerprint, partition, url, host]; no URL twice): a seed new to the
/// crawl counts against its host's `max_pages_per_host`; each becomes an active seed of this
/// listing, and is queued when it is new to the round (a `--once` run) or
/// new or listed again after its removal (the service). Returns how many
/// were queued.
pub static LIST_SEEDS: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local batch = cjson.decode(ARGV[2])
local seen_key = prefix .. 'seen:' .. batch.round
local fps, urls = {}, {}
for i, seed in ipairs(batch.seeds) do fps[i] = seed[1]; urls[i] = seed[3] end
local flags = smismember(seen_key, fps)
local old = hmget(prefix .. 'url', urls)
-- Two nodes may list at once: a seed keeps the newest listing that named it.
local listings = hmget(prefix .. 'seeds', urls)
local fields, listed, new_fps, due = {}, {}, {}, {}
local queued = 0
local new_hosts = {}
for i, seed in ipairs(batch.seeds) do
  local state = decode(old[i])
  if state == nil then new_hosts[seed[4]] = (new_hosts[seed[4]] or 0) + 1 end
  local queue
  if batch.round > 0 then
    queue = flags[i] == 0 and not (state and (state.r or 0) >= batch.round)
  else
    queue = flags[i] == 0 or state == nil or state.a ~= 1
  end
  if state == nil then state = {} end
  local was_active = state.a == 1 and state.o == 's'
  state.o = 's'; state.a = 1; state.d = nil; state.s = nil; state.f = nil
  fields[#fields + 1] = seed[3]
  fields[#fields + 1] = cjson.encode(state)
  listed[#listed + 1] = seed[3]
  listed[#listed + 1] = math.max(tonumber(listings[i]) or 0, batch.generation)
  if flags[i] == 0 then new_fps[#new_fps + 1] = seed[1] end
  if queue then
    push(due, seed[2], batch.now, seed[3])
  end
  if queue or not was_active then queued = queued + 1 end
end
if #fields > 0 then
  call_chunked('HSET', prefix .. 'url', fields)
  call_chunked('HSET', prefix .. 'seeds', listed)
end
if #new_fps > 0 then call_chunked('SADD', seen_key, new_fps) end
for host, count in pairs(new_hosts) do redis.call('HINCRBY', prefix .. 'hosts', host, count) end
enqueue(due, 'NX')
return queued
",
    )
});

/// The heartbeat of node `ARGV[2]` at `ARGV[3]` (ms): renews its lease (`ARGV[4]`
/// ms), releases the partitions in `ARGV[8..]` (their URLs all finished),
/// and takes free partitions up to its fair share, of all partitions and
/// of the active ones (those with URLs waiting), active ones first. A
/// partition released by another node is taken only `ARGV[5]` ms after its
/// release (the per-host delay holds across the handover); one whose
/// owner's lease ran out has its in-flight URLs queued again. `ARGV[6]` is 1
/// on the node's first beat (partitions still under its name are a
/// previous process's: their leases are queued again too). `ARGV[7]` is the
/// partition count. It costs a command per partition (a lease check),
/// once a second per node. Returns (extra, extra active, owned…, -1, owned
/// active…): the node gives up `extra` partitions, `extra active` of
/// them active.
pub static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local node, now, lease = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local handover, first, count = tonumber(ARGV[5]), ARGV[6] == '1', tonumber(ARGV[7])
local nodes_key, owners_key = prefix .. 'nodes', prefix .. 'owners'
redis.call('HSET', nodes_key, node, now + lease)
local live = 0
local nodes = redis.call('HGETALL', nodes_key)
for i = 1, #nodes, 2 do
  local until_ms = tonumber(nodes[i + 1]) or 0
  if until_ms > now then
    live = live + 1
  elseif until_ms < now - 10 * lease then
    redis.call('HDEL', nodes_key, nodes[i])
  end
end
live = math.max(live, 1)
-- Active partitions: URLs waiting, or in flight.
local active, active_count = {}, 0
for _, p in ipairs(redis.call('ZRANGE', prefix .. 'ready', 0, -1)) do
  active[p] = true
  active_count = active_count + 1
end
for p = 0, count - 1 do
  local key = tostring(p)
  if not active[key] and redis.call('EXISTS', prefix .. 'lease:' .. key) == 1 then
    active[key] = true
    active_count = active_count + 1
  end
end
local releasing = {}
for i = 8, #ARGV do releasing[ARGV[i]] = true end
local owners = {}
local flat = redis.call('HGETALL', owners_key)
for i = 1, #flat, 2 do owners[flat[i]] = flat[i + 1] end
local fair = math.ceil(count / live)
local fair_active = math.ceil(active_count / live)
local mine, active_mine, takeable, updates = {}, 0, {}, {}
local function requeue(p)
  local lease_key = prefix .. 'lease:' .. p
  local items = redis.call('ZRANGE', lease_key, 0, -1, 'WITHSCORES')
  if #items == 0 then return end
  local list = {}
  for i = 1, #items, 2 do
    list[#list + 1] = items[i + 1]
    list[#list + 1] = items[i]
  end
  enqueue({[p] = list}, nil)
  redis.call('DEL', lease_key)
end
for p = 0, count - 1 do
  local key = tostring(p)
  local owner = owners[key]
  local bar = owner and string.find(owner, '|', 1, true)
  local who = bar and string.sub(owner, 1, bar - 1)
  local at = bar and tonumber(string.sub(owner, bar + 1)) or 0
  if who == node then
    if releasing[key] then
      updates[#updates + 1] = key
      updates[#updates + 1] = '~|' .. now
    else
      if first then
        -- A previous process's: what it may still commit is fenced off.
        requeue(key)
        redis.call('HINCRBY', prefix .. 'epoch', key, 1)
      end
      mine[#mine + 1] = key
      if active[key] then active_mine = active_mine + 1 end
    end
  elseif owner == nil then
    takeable[#takeable + 1] = {key, false}
  elseif who == '~' then
    if now >= at + handover then takeable[#takeable + 1] = {key, false} end
  elseif at <= now then
    takeable[#takeable + 1] = {key, true}
  end
end
-- Partitions with work first, so that a node that joins gets some.
local function has_work(entry) return active[entry[1]] or entry[2] end
table.sort(takeable, function(a, b)
  local wa, wb = has_work(a), has_work(b)
  if wa ~= wb then return wa end
  return tonumber(a[1]) < tonumber(b[1])
end)
for _, entry in ipairs(takeable) do
  local work = has_work(entry)
  if #mine < fair or (work and active_mine < fair_active) then
    if entry[2] then requeue(entry[1]) end
    redis.call('HINCRBY', prefix .. 'epoch', entry[1], 1)
    mine[#mine + 1] = entry[1]
    if active[entry[1]] then active_mine = active_mine + 1 end
  end
end
for _, key in ipairs(mine) do
  updates[#updates + 1] = key
  updates[#updates + 1] = node .. '|' .. (now + lease)
end
if #updates > 0 then redis.call('HSET', owners_key, unpack(updates)) end
local out = {math.max(#mine - fair, 0), math.max(active_mine - fair_active, 0)}
for _, key in ipairs(mine) do out[#out + 1] = tonumber(key) end
out[#out + 1] = -1
for _, key in ipairs(mine) do
  if active[key] then out[#out + 1] = tonumber(key) end
end
return out
",
    )
});

/// Whether the whole crawl is idle: nothing waiting, no live node with URLs
/// in flight, and no partition of a dead node still holding leases.
/// `ARGV[2]` is now (ms). Returns 1 when idle.
pub static IDLE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now = tonumber(ARGV[2])
if redis.call('ZCARD', prefix .. 'ready') > 0 then return 0 end
local nodes = {}
local flat = redis.call('HGETALL', prefix .. 'nodes')
for i = 1, #flat, 2 do nodes[flat[i]] = tonumber(flat[i + 1]) or 0 end
local busy = redis.call('HGETALL', prefix .. 'busy')
for i = 1, #busy, 2 do
  if (tonumber(busy[i + 1]) or 0) > 0 then
    if (nodes[busy[i]] or 0) > now then return 0 end
    local owners = redis.call('HGETALL', prefix .. 'owners')
    for j = 1, #owners, 2 do
      if string.sub(owners[j + 1], 1, #busy[i] + 1) == busy[i] .. '|' then return 0 end
    end
    redis.call('HDEL', prefix .. 'busy', busy[i])
  end
end
return 1
",
    )
});

/// Gives node `ARGV[2]`'s in-flight URLs (`ARGV[3]`, JSON: [partition, url,
/// score, epoch]) back to their queues and releases its partitions at
/// `ARGV[4]` (ms): the node stops. A URL of a partition that changed hands
/// since its claim is not its to give back. Returns how many URLs were
/// given back.
pub static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local node, items, now = ARGV[2], cjson.decode(ARGV[3]), ARGV[4]
local back, leases, given = {}, {}, 0
for _, item in ipairs(items) do
  if not is_fenced(item[1], item[4]) then
    push(back, item[1], item[3], item[2])
    push(leases, item[1], item[2])
    given = given + 1
  end
end
for p, urls in pairs(leases) do call_chunked('ZREM', prefix .. 'lease:' .. p, urls) end
enqueue(back, nil)
local flat = redis.call('HGETALL', prefix .. 'owners')
local updates = {}
for i = 1, #flat, 2 do
  if string.sub(flat[i + 1], 1, #node + 1) == node .. '|' then
    updates[#updates + 1] = flat[i]
    updates[#updates + 1] = '~|' .. now
  end
end
if #updates > 0 then redis.call('HSET', prefix .. 'owners', unpack(updates)) end
redis.call('HDEL', prefix .. 'nodes', node)
redis.call('HDEL', prefix .. 'busy', node)
return given
",
    )
});

/// Starts a `--once` run, or joins the one in progress (nodes started
/// together join one run), in one step: returns {run number, 1 if joined}.
/// A new run drops the last run's seen-set.
pub static BEGIN_ROUND: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local meta = prefix .. 'meta'
local last = tonumber(redis.call('HGET', meta, 'round') or '0') or 0
local done = redis.call('HGET', meta, 'round_done')
if last > 0 and done == '0' then return {last, 1} end
redis.call('DEL', prefix .. 'seen:' .. last)
redis.call('HSET', meta, 'round', last + 1, 'round_done', 0)
return {last + 1, 0}
",
    )
});

/// Takes up to `ARGV[4]` notifications due by `ARGV[2]` (ms) for taker
/// `ARGV[5]` (`node|incarnation`, node `ARGV[6]`), hiding each until
/// `ARGV[3]`. First, what an earlier incarnation of the same node held is
/// due at once (that process is gone: node names are unique among live
/// nodes). Returns flat (id, notice, queued at, attempts) quadruples.
pub static TAKE_NOTICES: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local due = prefix .. 'outbox:due'
local owners_key = prefix .. 'outbox:owner'
local owners = redis.call('HGETALL', owners_key)
for i = 1, #owners, 2 do
  local id, owner = owners[i], owners[i + 1]
  if owner ~= ARGV[5] and string.sub(owner, 1, #ARGV[6] + 1) == ARGV[6] .. '|' then
    redis.call('ZADD', due, ARGV[2], id)
    redis.call('HDEL', owners_key, id)
  end
end
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local notice = redis.call('HGET', prefix .. 'outbox', id)
  if notice then
    redis.call('ZADD', due, ARGV[3], id)
    redis.call('HSET', owners_key, id, ARGV[5])
    out[#out + 1] = id
    out[#out + 1] = notice
    out[#out + 1] = redis.call('ZSCORE', prefix .. 'outbox:age', id) or '0'
    out[#out + 1] = redis.call('HGET', prefix .. 'outbox:tries', id) or '0'
  else
    redis.call('ZREM', due, id)
  end
end
return out
",
    )
});

/// Settles notifications given as (id, at) pairs from `ARGV[2]`: with `at`
/// empty one leaves the outbox; else it is due again at `at` (ms) with one
/// more attempt.
pub static SETTLE_NOTICES: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
for i = 2, #ARGV, 2 do
  local id, at = ARGV[i], ARGV[i + 1]
  redis.call('HDEL', prefix .. 'outbox:owner', id)
  if at == '' then
    redis.call('HDEL', prefix .. 'outbox', id)
    redis.call('HDEL', prefix .. 'outbox:tries', id)
    redis.call('ZREM', prefix .. 'outbox:due', id)
    redis.call('ZREM', prefix .. 'outbox:age', id)
  elseif redis.call('HEXISTS', prefix .. 'outbox', id) == 1 then
    redis.call('ZADD', prefix .. 'outbox:due', at, id)
    redis.call('HINCRBY', prefix .. 'outbox:tries', id, 1)
  end
end
return 1
",
    )
});
