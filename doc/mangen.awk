# SPDX-License-Identifier: MIT
# Makes the section 3 man pages from tubo.h's Doxygen comments: one page per public function
# (TUBO_EXPORT), with its synopsis, description, arguments, return value, the errors its
# @return names (their texts from TUBO_ERRORS) and the functions it refers to. POSIX awk.
#
#   awk -f mangen.awk -v mode=pages -v outdir=DIR -v version=V -v date=D tubo.h
#       writes DIR/NAME.3 for every function
#   awk -f mangen.awk -v mode=list tubo.h
#       prints the functions' names, one a line
#   awk -f mangen.awk -v mode=overview -v template=tubo.7.in -v version=V -v date=D tubo.h
#       prints tubo(7): the template with @VERSION@ and @DATE@ replaced, and the lines
#       @FUNCTIONS@ and @ERRORS@ by the list of functions and the table of errors
#
# Rules it enforces, so that no page is empty or wrong: every function has a comment with
# @brief, and either @return or, in its brief, "see ::other" (it then has other's return
# value and errors); every @param names an argument; every ::name names a function, a type
# or a macro of tubo.h. It exits 1 naming what is missing.

function fail(msg) {
  printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
  failed = 1
}

function trim(s) {
  sub(/^[ \t\n]+/, "", s)
  sub(/[ \t\n]+$/, "", s)
  return s
}

# Text of tubo.h to roff: escapes first, then the markup (`code`, @p arg, ::name, TUBO_E...).
function roff(s,    out, pre, word, name) {
  gsub(/\\/, "\\e", s)
  out = ""
  while (match(s, /`[^`]*`/)) {
    pre = substr(s, 1, RSTART - 1)
    word = substr(s, RSTART + 1, RLENGTH - 2)
    gsub(/-/, "\\-", word)
    out = out pre "\\fB" word "\\fR"
    s = substr(s, RSTART + RLENGTH)
  }
  s = out s
  out = ""
  while (match(s, /@p [A-Za-z_][A-Za-z_0-9]*/)) {
    out = out substr(s, 1, RSTART - 1) "\\fI" substr(s, RSTART + 3, RLENGTH - 3) "\\fR"
    s = substr(s, RSTART + RLENGTH)
  }
  s = out s
  out = ""
  while (match(s, /::[A-Za-z_][A-Za-z_0-9]*/)) {
    name = substr(s, RSTART + 2, RLENGTH - 2)
    out = out substr(s, 1, RSTART - 1) "\\fB" name "\\fR" ((name in isfunc) ? "(3)" : "")
    s = substr(s, RSTART + RLENGTH)
  }
  s = out s
  out = ""
  while (match(s, /TUBO_E[A-Z]+/)) {
    out = out substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART, RLENGTH) "\\fR"
    s = substr(s, RSTART + RLENGTH)
  }
  s = out s
  gsub(/ -/, " \\-", s)
  return s
}

# One paragraph of text as roff lines: no line may start with a dot or a quote.
function para(s) {
  s = roff(s)
  if (s ~ /^[.']/)
    s = "\\&" s
  return s
}

# Splits a comment's text into brief, details, params and return (globals c_*).
function parse_comment(text,    n, i, parts, tag, body, pname, first) {
  c_brief = ""; c_details = ""; c_return = ""; c_nparams = 0
  # Tags start a new part wherever they are; @p (an argument in the text) does not.
  gsub(/@brief /, "\001brief ", text)
  gsub(/@param /, "\001param ", text)
  gsub(/@return /, "\001return ", text)
  gsub(/@file [^\n]*/, "", text)
  n = split(text, parts, "\001")
  for (i = 1; i <= n; i++) {
    body = parts[i]
    if (body ~ /^brief /) {
      body = substr(body, 7)
      # The brief's first paragraph is the brief; what follows a blank line is details.
      if (match(body, /\n[ \t]*\n/)) {
        c_details = trim(substr(body, RSTART + RLENGTH))
        body = substr(body, 1, RSTART - 1)
      }
      c_brief = body
    } else if (body ~ /^param /) {
      body = substr(body, 7)
      match(body, /^[A-Za-z_][A-Za-z_0-9]*/)
      pname = substr(body, 1, RLENGTH)
      c_nparams++
      c_pname[c_nparams] = pname
      c_ptext[c_nparams] = substr(body, RLENGTH + 1)
    } else if (body ~ /^return /) {
      c_return = substr(body, 8)
    } else if (trim(body) != "") {
      c_details = trim(c_details "\n\n" body)
    }
  }
}

# Joins a comment's lines into one string, paragraphs separated by "\n\n".
function flat(s) {
  gsub(/\n[ \t]*\n/, "\002", s)
  gsub(/[ \t]*\n[ \t]*/, " ", s)
  gsub(/\002/, "\n\n", s)
  return trim(s)
}

# The first sentence of a brief, for NAME and tubo(7).
function first_sentence(s,    i) {
  s = flat(s)
  if (match(s, /\. /))
    s = substr(s, 1, RSTART)
  sub(/\.$/, "", s)
  return s
}

# The NAME line's text: the brief's first sentence, lower-cased first word, plain text.
function whatis(s) {
  s = first_sentence(s)
  gsub(/`/, "", s)
  gsub(/@p /, "", s)
  gsub(/::/, "", s)
  gsub(/\\/, "\\e", s)
  gsub(/-/, "\\-", s)
  return tolower(substr(s, 1, 1)) substr(s, 2)
}

# Doxygen chapters: a comment with "@defgroup name Title" opens one, "@}" closes it. tubo(7)
# lists the functions under their chapter's title.
function chapters(comment,    t) {
  if (match(comment, /@defgroup [A-Za-z_0-9]+ [^\n@]*/)) {
    t = substr(comment, RSTART, RLENGTH)
    sub(/^@defgroup [A-Za-z_0-9]+ /, "", t)
    group = trim(t)
  } else if (comment ~ /@\}/) {
    group = ""
  }
}

function add_function(decl, comment,    name, ret, args, k) {
  sub(/^TUBO_EXPORT[ \t]+/, "", decl)
  gsub(/[ \t\n]+/, " ", decl)
  sub(/ *;.*$/, "", decl)
  match(decl, /[A-Za-z_][A-Za-z_0-9]*\(/)
  name = substr(decl, RSTART, RLENGTH - 1)
  ret = trim(substr(decl, 1, RSTART - 1))
  args = substr(decl, RSTART + RLENGTH)
  sub(/\)$/, "", args)
  if (args ~ /[()]/)
    fail(name ": an argument with parentheses (a function pointer): give it a typedef")
  nfunc++
  fname[nfunc] = name
  fret[nfunc] = ret
  fargs[nfunc] = args
  fcomment[nfunc] = comment
  isfunc[name] = nfunc
  fline[nfunc] = FNR
  fgroup[nfunc] = group
}

BEGIN {
  in_comment = 0; comment = ""; decl = ""; want_decl = 0
}

# The error list: X(NAME, value, "text").
/^[ \t]*X\(E[A-Z]+, *-[0-9]+, *"/ {
  line = $0
  match(line, /X\(E[A-Z]+/)
  ename = "TUBO_" substr(line, RSTART + 2, RLENGTH - 2)
  match(line, /"[^"]*"/)
  etext[ename] = substr(line, RSTART + 1, RLENGTH - 2)
  eorder[++nerr] = ename
}

# Names a comment may refer to: macros, types and enum constants.
/^#define TUBO_[A-Z_0-9]+/ { match($0, /TUBO_[A-Z_0-9]+/); known[substr($0, RSTART, RLENGTH)] = 1 }
/^typedef .* tubo_[a-z_]+_t;/ { match($0, /tubo_[a-z_]+_t;/); known[substr($0, RSTART, RLENGTH - 1)] = 1 }
/^} tubo_[a-z_]+_t;/ { match($0, /tubo_[a-z_]+_t/); known[substr($0, RSTART, RLENGTH)] = 1 }
/^typedef .*\(\*tubo_[a-z_]+\)/ { match($0, /tubo_[a-z_]+\)/); known[substr($0, RSTART, RLENGTH - 1)] = 1 }
/^enum tubo_[a-z_]+ \{/ { match($0, /tubo_[a-z_]+/); known[substr($0, RSTART, RLENGTH)] = 1 }
/^  TUBO_[A-Z_0-9]+( =|,|$| )/ { match($0, /TUBO_[A-Z_0-9]+/); known[substr($0, RSTART, RLENGTH)] = 1 }

in_comment {
  line = $0
  done = sub(/\*\/.*$/, "", line)
  sub(/^[ \t]*\*[ \t]?/, "", line)
  comment = comment "\n" line
  if (done) {
    in_comment = 0
    want_decl = 1
    decl = ""
    chapters(comment)
  }
  next
}

/^[ \t]*\/\*\*/ {
  line = $0
  sub(/^[ \t]*\/\*\*[ \t]?/, "", line)
  comment = ""
  if (sub(/\*\/.*$/, "", line)) {
    comment = line
    want_decl = 1
    decl = ""
    chapters(comment)
  } else {
    comment = line
    in_comment = 1
  }
  next
}

want_decl {
  if ($0 ~ /^[ \t]*$/ && decl == "")
    next
  decl = decl " " $0
  if (decl ~ /^ *TUBO_EXPORT/ && decl ~ /;/) {
    if (decl ~ /\(/ && decl !~ /extern/)
      add_function(trim(decl), comment)
    want_decl = 0
  } else if (decl !~ /^ *TUBO_EXPORT/) {
    want_decl = 0
  }
  next
}

# An exported function without a comment of its own.
/^TUBO_EXPORT .*\(/ { fail("a public function without a Doxygen comment: " $0) }

# The synopsis: the prototype, the argument names in italics, wrapped after commas.
function synopsis(i,    n, a, k, p, type, name, line, piece, width, out, indent) {
  out = ".BI \"" fret[i] (fret[i] ~ /\*$/ ? "" : " ") fname[i] "("
  width = length(fret[i]) + length(fname[i]) + 2
  indent = width
  if (trim(fargs[i]) == "void")
    return out "void);\"\n"
  n = split(fargs[i], a, ",")
  line = out
  for (k = 1; k <= n; k++) {
    p = trim(a[k])
    match(p, /[A-Za-z_][A-Za-z_0-9]*$/)
    name = substr(p, RSTART)
    type = trim(substr(p, 1, RSTART - 1))
    piece = type (type ~ /\*$/ ? "" : " ")
    if (k > 1 && width + length(piece) + length(name) + 2 > 72) {
      line = line "\"\n.BI \"" sprintf("%" indent "s", "")
      width = indent
    }
    line = line piece "\" " name " \"" (k < n ? ", " : ");\"")
    width += length(piece) + length(name) + 2
    fparam[i, name] = 1
  }
  return line "\n"
}

# Codes a function's return value names: its own and, for "as ::other" or a "see ::other"
# brief, those of other (except codes it says it never returns).
function codes(i, seen,    text, s, code, ref, list, out, n, parts, k, nv) {
  if (seen[i])
    return ""
  seen[i] = 1
  text = flat(fret_text[i])
  list = ""
  s = text
  while (match(s, /TUBO_E[A-Z]+/)) {
    code = substr(s, RSTART, RLENGTH)
    if (substr(s, 1, RSTART - 1) !~ /never $/)
      list = list " " code
    s = substr(s, RSTART + RLENGTH)
  }
  s = text " " (fret_from[i] != "" ? "as ::" fret_from[i] : "")
  while (match(s, /[Aa]s ::tubo_[a-z_]+/)) {
    ref = substr(s, RSTART + 5, RLENGTH - 5)
    if (ref in isfunc)
      list = list " " codes(isfunc[ref], seen)
    s = substr(s, RSTART + RLENGTH)
  }
  s = text
  while (match(s, /never TUBO_E[A-Z]+/)) {
    nv[substr(s, RSTART + 6, RLENGTH - 6)] = 1
    s = substr(s, RSTART + RLENGTH)
  }
  out = ""
  n = split(list, parts, " ")
  for (k = 1; k <= n; k++)
    if (parts[k] != "" && !(parts[k] in nv) && index(" " out " ", " " parts[k] " ") == 0)
      out = out (out == "" ? "" : " ") parts[k]
  return out
}

function write_page(i,    f, text, n, k, paras, refs, s, ref, list, seen, ncode, code, upname) {
  f = outdir "/" fname[i] ".3"
  upname = toupper(fname[i])
  print ".\\\" SPDX-License-Identifier: MIT" > f
  print ".\\\" Made from tubo.h by doc/mangen.awk: edit the comment in tubo.h, not this page." > f
  printf ".TH %s 3 \"%s\" \"tubo %s\" \"tubo manual\"\n", upname, date, version > f
  print ".SH NAME" > f
  print fname[i] " \\- " whatis(fbrief[i]) > f
  print ".SH SYNOPSIS" > f
  print ".nf" > f
  print ".B #include <tubo.h>" > f
  print ".PP" > f
  printf "%s", synopsis(i) > f
  print ".fi" > f
  print ".PP" > f
  print "Compile and link with \\fBtubocc\\fR(1), or with \\fIpkg\\-config \\-\\-cflags \\-\\-libs tubo\\fR." > f
  print ".SH DESCRIPTION" > f
  text = flat(fbrief[i])
  if (fdetails[i] != "")
    text = text "\n\n" flat(fdetails[i])
  n = split(text, paras, "\n\n")
  for (k = 1; k <= n; k++) {
    if (k > 1)
      print ".PP" > f
    print para(paras[k]) > f
  }
  if (fnparams[i] > 0) {
    print ".SH ARGUMENTS" > f
    for (k = 1; k <= fnparams[i]; k++) {
      print ".TP" > f
      print ".I " fpname[i, k] > f
      print para(flat(fptext[i, k])) > f
    }
  }
  print ".SH RETURN VALUE" > f
  if (fret_text[i] != "")
    print para(flat(fret_text[i])) > f
  else
    print para("As ::" fret_from[i] ".") > f
  list = codes(i, seen)
  ncode = split(list, code, " ")
  if (ncode > 0) {
    print ".SH ERRORS" > f
    print "Each code its return value may be, with the text \\fBtubo_strerror\\fR(3) gives for it:" > f
    for (k = 1; k <= ncode; k++) {
      print ".TP" > f
      print ".B " code[k] > f
      print para(etext[code[k]]) > f
    }
  }
  # SEE ALSO: the functions its comment names, then tubo(7).
  s = fcomment[i]
  refs = ""
  while (match(s, /::tubo_[a-z_]+/)) {
    ref = substr(s, RSTART + 2, RLENGTH - 2)
    if ((ref in isfunc) && ref != fname[i] && index(" " refs " ", " " ref " ") == 0)
      refs = refs " " ref
    s = substr(s, RSTART + RLENGTH)
  }
  print ".SH SEE ALSO" > f
  n = split(trim(refs), paras, " ")
  for (k = 1; k <= n; k++)
    print ".BR " paras[k] " (3)," > f
  print ".BR tubo (7)" > f
  close(f)
}

END {
  if (nfunc == 0)
    fail("no public function found")
  for (i = 1; i <= nfunc; i++) {
    FNR = fline[i]
    parse_comment(fcomment[i])
    fbrief[i] = c_brief
    fdetails[i] = c_details
    fret_text[i] = c_return
    fret_from[i] = ""
    fnparams[i] = c_nparams
    for (k = 1; k <= c_nparams; k++) {
      fpname[i, k] = c_pname[k]
      fptext[i, k] = c_ptext[k]
    }
    if (trim(c_brief) == "")
      fail(fname[i] ": its comment has no @brief")
    if (trim(c_return) == "") {
      if (match(c_brief, /see ::tubo_[a-z_]+/) && (substr(c_brief, RSTART + 6, RLENGTH - 6) in isfunc))
        fret_from[i] = substr(c_brief, RSTART + 6, RLENGTH - 6)
      else
        fail(fname[i] ": its comment has no @return (nor \"see ::other\" in its brief)")
    }
    synopsis(i)
    s = c_return
    while (match(s, /TUBO_E[A-Z]+/)) {
      if (!(substr(s, RSTART, RLENGTH) in etext))
        fail(fname[i] ": @return names " substr(s, RSTART, RLENGTH) ", which TUBO_ERRORS lacks")
      s = substr(s, RSTART + RLENGTH)
    }
    for (k = 1; k <= c_nparams; k++)
      if (!((i, c_pname[k]) in fparam))
        fail(fname[i] ": @param " c_pname[k] " names no argument")
    s = fcomment[i]
    while (match(s, /::[A-Za-z_][A-Za-z_0-9]*/)) {
      ref = substr(s, RSTART + 2, RLENGTH - 2)
      if (!(ref in isfunc) && !(ref in known))
        fail(fname[i] ": ::" ref " names nothing in tubo.h")
      s = substr(s, RSTART + RLENGTH)
    }
  }
  if (nerr == 0)
    fail("no error list (TUBO_ERRORS) found")
  if (failed)
    exit 1
  if (mode == "list") {
    for (i = 1; i <= nfunc; i++)
      print fname[i]
  } else if (mode == "pages") {
    for (i = 1; i <= nfunc; i++)
      write_page(i)
  } else if (mode == "overview") {
    while ((getline line < template) > 0) {
      gsub(/@VERSION@/, version, line)
      gsub(/@DATE@/, date, line)
      if (line == "@FUNCTIONS@") {
        for (i = 1; i <= nfunc; i++) {
          if (fgroup[i] != "" && (i == 1 || fgroup[i] != fgroup[i - 1]))
            print ".SS " para(fgroup[i])
          print ".TP"
          print ".BR " fname[i] " (3)"
          print para(first_sentence(fbrief[i]) ".")
        }
      } else if (line == "@ERRORS@") {
        for (k = 1; k <= nerr; k++) {
          print ".TP"
          print ".B " eorder[k]
          print para(etext[eorder[k]])
        }
      } else {
        print line
      }
    }
    close(template)
  } else {
    fail("mode must be pages, list or overview, not '" mode "'")
    exit 1
  }
}
