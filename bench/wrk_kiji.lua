-- wrk script: rotate through BENCH_QUERIES (one query a line); kiji GET /search, top 10 + 1 snippet each.
-- Each wrk thread starts at a different offset so the threads do not ask the same query at once.
local queries = {}
local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
for line in io.lines(os.getenv("BENCH_QUERIES") or "queries.txt") do
  if #line > 0 then queries[#queries + 1] = urlencode(line) end
end
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads); nthreads = nthreads + 1
end
local counter = 0
function init(args)
  counter = (tid or 0) * 7
end
function request()
  counter = counter + 1
  local q = queries[(counter % #queries) + 1]
  return wrk.format("GET", "/search?q=" .. q .. "&limit=10&fragments=1")
end
