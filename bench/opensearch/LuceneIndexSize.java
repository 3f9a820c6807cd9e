// Index size per article on an OpenSearch shard, measured with Lucene itself:
// the documents kiji sends, indexed the way the generated template maps them
// (kuromoji + bigram and base-form sub-fields through kiji's char filter, keywords with doc
// values, dates, nested entity spans as block-joined child documents,
// _source and _id stored, _seq_no/_version/_primary_term doc values), then
// force-merged to one segment. Run by `cargo run --release --example
// opensearch_size`, which writes the input.
//
//   java -cp LUCENE_JARS LuceneIndexSize.java MAPPING_RULES USER_DICTIONARY INDEX_DIR < docs
//
// Input: one article a line, tab-separated base64 (UTF-8) fields:
//   id, _source JSON, title, body, published (epoch seconds or empty),
//   keyword lists (entity, person, organization, place, source, tags,
//   cited_outlets, author; items joined by U+001F), spans (each
//   canonical U+001F type U+001F surface U+001F field U+001F start U+001F end,
//   joined by U+001E).
// Output: `<bytes on disk> <articles> <lucene documents>`.

import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.regex.*;
import org.apache.lucene.analysis.*;
import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.ja.JapaneseBaseFormFilter;
import org.apache.lucene.analysis.ja.JapaneseTokenizer;
import org.apache.lucene.analysis.ja.dict.UserDictionary;
import org.apache.lucene.analysis.miscellaneous.PerFieldAnalyzerWrapper;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.document.*;
import org.apache.lucene.index.*;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;

public class LuceneIndexSize {
  static final Pattern RULE = Pattern.compile("(.*)\\s*=>\\s*(.*)\\s*$");

  static String unescape(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length(); ) {
      char c = s.charAt(i++);
      if (c == '\\') {
        char e = s.charAt(i++);
        switch (e) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'u': c = (char) Integer.parseInt(s.substring(i, i + 4), 16); i += 4; break;
          default: c = e;
        }
      }
      out.append(c);
    }
    return out.toString();
  }

  static String b64(String s) {
    return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
  }

  public static void main(String[] args) throws Exception {
    NormalizeCharMap.Builder mb = new NormalizeCharMap.Builder();
    for (String rule : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
      if (rule.isEmpty()) continue;
      Matcher m = RULE.matcher(rule);
      m.find();
      mb.add(unescape(m.group(1).trim()), unescape(m.group(2).trim()));
    }
    NormalizeCharMap map = mb.build();
    String dict = new String(Files.readAllBytes(Paths.get(args[1])), StandardCharsets.UTF_8);
    UserDictionary user = UserDictionary.open(new StringReader(dict));
    Analyzer morph = new Analyzer() {
      protected Reader initReader(String f, Reader r) { return new MappingCharFilter(map, r); }
      protected TokenStreamComponents createComponents(String f) {
        return new TokenStreamComponents(new JapaneseTokenizer(
            TokenStream.DEFAULT_TOKEN_ATTRIBUTE_FACTORY, user, true, false, JapaneseTokenizer.Mode.SEARCH));
      }
    };
    Analyzer bigram = new Analyzer() {
      protected Reader initReader(String f, Reader r) { return new MappingCharFilter(map, r); }
      protected TokenStreamComponents createComponents(String f) {
        Tokenizer t = new StandardTokenizer();
        return new TokenStreamComponents(t, new CJKBigramFilter(t, 0xff, false));
      }
    };
    Analyzer base = new Analyzer() {
      protected Reader initReader(String f, Reader r) { return new MappingCharFilter(map, r); }
      protected TokenStreamComponents createComponents(String f) {
        Tokenizer t = new JapaneseTokenizer(
            TokenStream.DEFAULT_TOKEN_ATTRIBUTE_FACTORY, user, true, false, JapaneseTokenizer.Mode.SEARCH);
        return new TokenStreamComponents(t, new JapaneseBaseFormFilter(t));
      }
    };
    Map<String, Analyzer> per = new HashMap<>();
    per.put("title.bigram", bigram);
    per.put("body.bigram", bigram);
    per.put("title.base", base);
    per.put("body.base", base);
    Path dir = Paths.get(args[2]);
    IndexWriterConfig cfg = new IndexWriterConfig(new PerFieldAnalyzerWrapper(morph, per));
    cfg.setRAMBufferSizeMB(256);
    String[] keywordFields = {"entity", "person", "organization", "place", "source", "tags", "cited_outlets", "author"};
    long articles = 0, docs = 0, seq = 0;
    try (IndexWriter w = new IndexWriter(FSDirectory.open(dir), cfg)) {
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        String[] f = line.split("\t", -1);
        List<Document> block = new ArrayList<>();
        if (!f[13].isEmpty()) {
          for (String span : b64(f[13]).split("\u001e")) {
            String[] p = span.split("\u001f", -1);
            Document c = new Document();
            String[] names = {"entity_spans.canonical", "entity_spans.type", "entity_spans.surface", "entity_spans.field"};
            for (int i = 0; i < 4; i++) {
              c.add(new StringField(names[i], p[i], Field.Store.NO));
              c.add(new SortedSetDocValuesField(names[i], new BytesRef(p[i])));
            }
            for (int i = 4; i < 6; i++) {
              String name = i == 4 ? "entity_spans.start" : "entity_spans.end";
              int v = Integer.parseInt(p[i]);
              c.add(new IntPoint(name, v));
              c.add(new SortedNumericDocValuesField(name, v));
            }
            c.add(new StringField("_nested_path", "entity_spans", Field.Store.NO));
            c.add(new NumericDocValuesField("_seq_no", seq));
            c.add(new NumericDocValuesField("_primary_term", 0));
            block.add(c);
          }
        }
        Document d = new Document();
        String id = b64(f[0]);
        d.add(new StringField("_id", id, Field.Store.YES));
        d.add(new StoredField("_source", new BytesRef(b64(f[1]).getBytes(StandardCharsets.UTF_8))));
        for (String field : new String[]{"title", "body"}) {
          String text = b64(field.equals("title") ? f[2] : f[3]);
          d.add(new TextField(field, text, Field.Store.NO));
          d.add(new TextField(field + ".bigram", text, Field.Store.NO));
          d.add(new TextField(field + ".base", text, Field.Store.NO));
        }
        if (!f[4].isEmpty()) {
          long ms = Long.parseLong(b64(f[4])) * 1000;
          d.add(new LongPoint("published", ms));
          d.add(new SortedNumericDocValuesField("published", ms));
        }
        for (int k = 0; k < keywordFields.length; k++) {
          if (f[5 + k].isEmpty()) continue;
          for (String v : b64(f[5 + k]).split("\u001f")) {
            if (v.isEmpty()) continue;
            d.add(new StringField(keywordFields[k], v, Field.Store.NO));
            d.add(new SortedSetDocValuesField(keywordFields[k], new BytesRef(v)));
          }
        }
        d.add(new NumericDocValuesField("_seq_no", seq));
        d.add(new NumericDocValuesField("_primary_term", 1));
        d.add(new NumericDocValuesField("_version", 1));
        seq++;
        block.add(d);
        w.addDocuments(block);
        articles++;
        docs += block.size();
      }
      w.forceMerge(1);
      w.commit();
    }
    long bytes = 0;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path p : files) bytes += Files.size(p);
    }
    System.out.println(bytes + " " + articles + " " + docs);
  }
}
