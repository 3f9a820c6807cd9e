// The analysis-parity probe: Lucene's analysers (what OpenSearch's
// analysis-kuromoji plugin and its standard/cjk_bigram filters run), set up
// from the files kiji generates, print the span of every token they emit.
//
//   java -cp lucene-core.jar:lucene-analyzers-common.jar:lucene-analyzers-kuromoji.jar \
//        KuromojiSpans.java MODE MAPPING_RULES USER_DICTIONARY < texts > spans
//
// MODE: `morph`  — mapping char filter, then kuromoji in search mode with the
//                  user dictionary (kiji's `kiji_ja` analyser);
//       `bigram` — mapping char filter, standard tokenizer, cjk_bigram
//                  (kiji's `kiji_bigram` analyser);
//       `base`   — `morph`, then kuromoji_baseform (kiji's `kiji_ja_base`
//                  analyser of the `.base` sub-fields); each span is
//                  followed by `=` and the token's text;
//       `morph-token-filters` — kuromoji on the raw text, then cjk_width and
//                  lowercase token filters (the built-in alternative to the
//                  char filter, for comparison).
// MAPPING_RULES: one rule a line in the syntax of OpenSearch's mapping char
// filter (`a => b`, `\\uXXXX` escapes), parsed as OpenSearch parses it.
// USER_DICTIONARY: kuromoji user dictionary rules, one a line.
// Input: one text a line, base64 of its UTF-8. Output: a line per text,
// `start-end` spans in code points of the text, space-separated.

import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.regex.*;
import org.apache.lucene.analysis.*;
import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.cjk.CJKWidthFilter;
import org.apache.lucene.analysis.core.LowerCaseFilter;
import org.apache.lucene.analysis.ja.JapaneseBaseFormFilter;
import org.apache.lucene.analysis.ja.JapaneseTokenizer;
import org.apache.lucene.analysis.ja.dict.UserDictionary;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.analysis.tokenattributes.OffsetAttribute;

public class KuromojiSpans {
  // OpenSearch's MappingCharFilterFactory rule syntax.
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
          case 'r': c = '\r'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          case 'u': c = (char) Integer.parseInt(s.substring(i, i + 4), 16); i += 4; break;
          default: c = e;
        }
      }
      out.append(c);
    }
    return out.toString();
  }

  static NormalizeCharMap mappings(Path rules) throws IOException {
    NormalizeCharMap.Builder b = new NormalizeCharMap.Builder();
    for (String rule : Files.readAllLines(rules, StandardCharsets.UTF_8)) {
      if (rule.isEmpty()) continue;
      Matcher m = RULE.matcher(rule);
      if (!m.find()) throw new IllegalArgumentException("invalid mapping rule: " + rule);
      b.add(unescape(m.group(1).trim()), unescape(m.group(2).trim()));
    }
    return b.build();
  }

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    NormalizeCharMap map = mappings(Paths.get(args[1]));
    String dict = new String(Files.readAllBytes(Paths.get(args[2])), StandardCharsets.UTF_8);
    UserDictionary user = dict.isBlank() ? null : UserDictionary.open(new StringReader(dict));
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
    for (String line; (line = in.readLine()) != null; ) {
      String text = new String(Base64.getDecoder().decode(line), StandardCharsets.UTF_8);
      Reader reader = mode.equals("morph-token-filters")
          ? new StringReader(text) : new MappingCharFilter(map, new StringReader(text));
      TokenStream ts;
      switch (mode) {
        case "morph":
        case "base":
        case "morph-token-filters": {
          Tokenizer t = new JapaneseTokenizer(TokenStream.DEFAULT_TOKEN_ATTRIBUTE_FACTORY, user,
              true, false, JapaneseTokenizer.Mode.SEARCH);
          t.setReader(reader);
          ts = mode.equals("morph") ? t
              : mode.equals("base") ? new JapaneseBaseFormFilter(t)
              : new LowerCaseFilter(new CJKWidthFilter(t));
          break;
        }
        case "bigram": {
          Tokenizer t = new StandardTokenizer();
          t.setReader(reader);
          ts = new CJKBigramFilter(t, 0xff, false);
          break;
        }
        default: throw new IllegalArgumentException("unknown mode " + mode);
      }
      OffsetAttribute off = ts.addAttribute(OffsetAttribute.class);
      CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
      ts.reset();
      StringBuilder spans = new StringBuilder();
      while (ts.incrementToken()) {
        if (spans.length() > 0) spans.append(' ');
        spans.append(text.codePointCount(0, off.startOffset())).append('-')
             .append(text.codePointCount(0, off.endOffset()));
        if (mode.equals("base")) spans.append('=').append(term);
      }
      ts.end();
      ts.close();
      out.println(spans);
    }
    out.flush();
  }
}
