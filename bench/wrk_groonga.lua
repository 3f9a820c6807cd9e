-- wrk script: rotate through BENCH_QUERIES (one query a line); Groonga /d/select over title||body,
-- total + top 10 by score + snippet_html(body), select cache bypassed (the server also runs cache_limit max=0).
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
local rest = "&output_columns=" .. urlencode("_key,title,snippet_html(body)") ..
  "&limit=10&sort_keys=" .. urlencode("-_score") .. "&cache=no"
function request()
  counter = counter + 1
  local q = queries[(counter % #queries) + 1]
  return wrk.format("GET", "/d/select?table=Docs&match_columns=" .. urlencode("title||body") .. "&query=" .. q .. rest)
end
