using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace LicenseClient
{
    /// <summary>The little JSON this package needs: reading a verdict, writing a config.
    /// Written here so the package references nothing beyond the base library (it
    /// compiles with a bare `mcs src/*.cs`). Objects read as Dictionary&lt;string, object&gt;,
    /// arrays as List&lt;object&gt;, numbers as long (or double), and null as null.</summary>
    internal static class Json
    {
        internal static object Parse(string text)
        {
            int at = 0;
            var value = Value(text, ref at);
            SkipSpace(text, ref at);
            if (at != text.Length) throw Bad(text, at, "trailing text");
            return value;
        }

        internal static string Quote(string s)
        {
            var b = new StringBuilder("\"");
            foreach (var c in s)
            {
                switch (c)
                {
                    case '"': b.Append("\\\""); break;
                    case '\\': b.Append("\\\\"); break;
                    default:
                        if (c < 0x20) b.Append("\\u").Append(((int)c).ToString("x4"));
                        else b.Append(c);
                        break;
                }
            }
            return b.Append('"').ToString();
        }

        private static object Value(string t, ref int at)
        {
            SkipSpace(t, ref at);
            if (at >= t.Length) throw Bad(t, at, "a value");
            switch (t[at])
            {
                case '{': return Object(t, ref at);
                case '[': return Array(t, ref at);
                case '"': return String(t, ref at);
                case 't': Word(t, ref at, "true"); return true;
                case 'f': Word(t, ref at, "false"); return false;
                case 'n': Word(t, ref at, "null"); return null;
                default: return Number(t, ref at);
            }
        }

        private static Dictionary<string, object> Object(string t, ref int at)
        {
            var result = new Dictionary<string, object>();
            at++;
            SkipSpace(t, ref at);
            if (at < t.Length && t[at] == '}') { at++; return result; }
            while (true)
            {
                SkipSpace(t, ref at);
                var key = String(t, ref at);
                SkipSpace(t, ref at);
                Expect(t, ref at, ':');
                result[key] = Value(t, ref at);
                SkipSpace(t, ref at);
                if (at < t.Length && t[at] == ',') { at++; continue; }
                Expect(t, ref at, '}');
                return result;
            }
        }

        private static List<object> Array(string t, ref int at)
        {
            var result = new List<object>();
            at++;
            SkipSpace(t, ref at);
            if (at < t.Length && t[at] == ']') { at++; return result; }
            while (true)
            {
                result.Add(Value(t, ref at));
                SkipSpace(t, ref at);
                if (at < t.Length && t[at] == ',') { at++; continue; }
                Expect(t, ref at, ']');
                return result;
            }
        }

        private static string String(string t, ref int at)
        {
            Expect(t, ref at, '"');
            var b = new StringBuilder();
            while (at < t.Length && t[at] != '"')
            {
                char c = t[at++];
                if (c != '\\') { b.Append(c); continue; }
                if (at >= t.Length) break;
                char e = t[at++];
                switch (e)
                {
                    case 'n': b.Append('\n'); break;
                    case 't': b.Append('\t'); break;
                    case 'r': b.Append('\r'); break;
                    case 'b': b.Append('\b'); break;
                    case 'f': b.Append('\f'); break;
                    case 'u':
                        if (at + 4 > t.Length) throw Bad(t, at, "four hex digits");
                        b.Append((char)int.Parse(t.Substring(at, 4), NumberStyles.HexNumber));
                        at += 4;
                        break;
                    default: b.Append(e); break;
                }
            }
            Expect(t, ref at, '"');
            return b.ToString();
        }

        private static object Number(string t, ref int at)
        {
            int start = at;
            while (at < t.Length && "+-0123456789.eE".IndexOf(t[at]) >= 0) at++;
            var s = t.Substring(start, at - start);
            long whole;
            if (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out whole)) return whole;
            double real;
            if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out real)) return real;
            throw Bad(t, start, "a value");
        }

        private static void Word(string t, ref int at, string word)
        {
            if (string.CompareOrdinal(t, at, word, 0, word.Length) != 0) throw Bad(t, at, word);
            at += word.Length;
        }

        private static void Expect(string t, ref int at, char c)
        {
            if (at >= t.Length || t[at] != c) throw Bad(t, at, "'" + c + "'");
            at++;
        }

        private static void SkipSpace(string t, ref int at)
        {
            while (at < t.Length && char.IsWhiteSpace(t[at])) at++;
        }

        private static FormatException Bad(string t, int at, string wanted)
        {
            return new FormatException("the library's JSON has no " + wanted + " at offset " + at);
        }
    }
}
