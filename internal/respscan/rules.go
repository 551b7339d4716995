// Package respscan finds prompt-injection directives and hidden text in
// the responses pipelock relays to the agent (issue 16 item 7): instruction
// overrides, fake system or authority blocks, directives hidden in HTML
// comments, CSS-hidden elements or invisible characters, and markdown
// images or links built to carry data out. It is about what the agent is
// told, not about secrets: no rule looks at credentials, so a route's own
// token echoed back by its API never trips it.
//
// Scan looks at one window of text; Reader applies it to a body as it
// streams (bounded memory, SSE one event at a time) and warns, strips or
// blocks. Every finding names its rule, inject.<kind>; docs/DLP.md lists
// them with their false-positive guards.
package respscan

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Kinds are the rule kinds, each rule named "inject.<kind>". A bottle
// turns one off with responses: {<kind>: off}.
var Kinds = []string{"override", "role", "authority", "hidden-comment", "css-hidden", "invisible", "exfil-link"}

// RulePrefix starts every rule name.
const RulePrefix = "inject."

// Finding is one match in a scanned window: its rule and the byte span
// [Start, End) in the window as given (not the decoded view).
type Finding struct {
	Rule       string
	Start, End int
	// Excerpt is a short, printable rendering of the match for the log.
	Excerpt string
}

// Scanner holds the rules in force. It is immutable and safe for
// concurrent use.
type Scanner struct {
	off map[string]bool
}

// New builds a Scanner with the kinds in off turned off. An unknown kind
// is an error naming it.
func New(off []string) (*Scanner, error) {
	s := &Scanner{off: map[string]bool{}}
	for i, k := range off {
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("off[%d]: %q is not a response rule kind; use one of %s", i, k, strings.Join(Kinds, ", "))
		}
		s.off[k] = true
	}
	return s, nil
}

func (s *Scanner) on(kind string) bool { return !s.off[kind] }

// The patterns run on a lower-cased (ASCII) view of the text, and only
// around a trigger literal found with bytes.Index: a clean body costs a
// handful of SIMD searches, not a regexp pass per rule.

// verbs of an instruction override, and what they override.
const (
	overrideVerbs = `ignore|disregard|forget|override|bypass|discard|abandon|set aside|throw out|pay no attention to|do not (?:follow|obey)|don't (?:follow|obey)|stop (?:following|obeying)|no longer (?:follow|obey)`
	overrideMods  = `all|any|every|each|the|your|my|of|these|those|previous|previously|prior|above|earlier|preceding|foregoing|former|original|initial|existing|current|old|given|system|other|developer|user|safety|you were given|you have been given|that came before|before this`
	overrideNouns = `instructions?|directives?|rules|prompts?|guidelines|guidance|orders|constraints|restrictions|programming|polic(?:y|ies)|system prompt|safeguards|guardrails`
	// imperative position: the start of a sentence, line, element,
	// comment or list item, optionally after a vocative or politeness
	// word. A phrase quoted in prose ("tell it to ignore previous
	// instructions", `"ignore previous instructions"`) is not in it.
	imperative = `(?:^|[.!?:;>\n\r*\]\)\x{2022}-]|-->|<!--)[ \t\r\n]*(?:(?:please|now|kindly|first|immediately|important|urgent|note|attention|warning|ai|assistant|agent|claude|llm|model|bot|chatbot|system|also|so|then|and|you (?:must|should|need to|will|are to|have to)|[,:!-]|[ \t\r\n])+)?`
)

var (
	reOverride = regexp.MustCompile(imperative + `\b(?:` + overrideVerbs + `)\b[ \t\r\n]+(?:(?:` + overrideMods + `)[ \t\r\n]+){1,6}(?:` + overrideNouns + `)\b`)
	// Other override families: "from now on you ...", "your new task is",
	// "you are now DAN / in developer mode", "new instructions:".
	reOverride2      = regexp.MustCompile(imperative + `(?:from now on,? you (?:are|will|must|shall|should)\b|your (?:new|real|actual|updated|true) (?:task|instructions?|goal|objective|role|directive|mission) (?:is|are)\b|you are now (?:dan|in (?:developer|god|debug|admin|jailbreak|unrestricted) mode|an? (?:unrestricted|unfiltered|jailbroken))|(?:new|updated|revised|real|actual|override) (?:system )?instructions?[ \t]*:)`)
	overrideTriggers = [][]byte{
		[]byte("ignor"), []byte("disregard"), []byte("forget"), []byte("overrid"), []byte("bypass"),
		[]byte("discard"), []byte("abandon"), []byte("set aside"), []byte("throw out"), []byte("pay no attention"),
		[]byte("follow"), []byte("obey"), []byte("from now on"), []byte("your new"), []byte("your real"),
		[]byte("your actual"), []byte("your updated"), []byte("your true"), []byte("you are now"), []byte("instruction"),
	}

	// Fake system / role blocks: a chat-template token or system tag.
	reRole       = regexp.MustCompile(`<\s*/?\s*(?:system|system[_ -]?(?:prompt|message|instructions?)|sys|admin|developer|operator)\s*>|<\|\s*(?:im_start|im_end|system|endoftext|start_header_id|end_header_id|eot_id)\s*\|>|<<\s*/?sys\s*>>|\[\s*/?\s*(?:system|inst|sys|admin|developer|system (?:message|prompt|override|note))\s*\]|(?m:(?:^|>)[ \t>#*]*(?:system|developer|admin)(?: (?:prompt|message|override|notice|instruction))?[ \t]*:)|\n\n(?:human|assistant)[ \t]*:`)
	roleTriggers = [][]byte{[]byte("system"), []byte("<|"), []byte("<<"), []byte("[inst"), []byte("[/inst"), []byte("admin"), []byte("developer"), []byte("operator"), []byte("sys>"), []byte("human"), []byte("assistant")}

	// Authority claims addressed to the model.
	reAuthority       = regexp.MustCompile(`(?:(?:a |this is a |urgent |important |official |priority )?(?:message|note|notice|instructions?|directive|update) (?:from|by) (?:anthropic|openai|the (?:developers?|operators?|administrators?|admins?|system|site owner)|your (?:developers?|creators?|operators?|administrators?))|(?:note|message|instructions?|attention|notice|important|warning|reminder)(?: for| to)? (?:the |all |any )?(?:ai|llm|assistant|agent|language model|claude|chatgpt|gpt|copilot|ai agent|ai assistant|coding agent|model)s?\b[ \t]*[,:!-]|if you are an? (?:ai|llm|large language model|language model|assistant|ai agent|ai assistant|coding agent|claude|bot|automated agent)\b|to (?:any|all|the) (?:ai|llm|ai agent|ai assistant|language model|coding agent|assistant)s? (?:reading|processing|parsing|summari[sz]ing|visiting|browsing)|(?:anthropic|openai|the developers?|your (?:developers?|creators?|operators?)) (?:has|have) (?:authorized|instructed|updated|requested|approved|changed)\b)`)
	authorityTriggers = [][]byte{[]byte("anthropic"), []byte("openai"), []byte("developer"), []byte("operator"), []byte("admin"), []byte("if you are a"), []byte("ai"), []byte("llm"), []byte("assistant"), []byte("agent"), []byte("model"), []byte("claude")}

	// directive: what turns a role or authority marker, a hidden comment
	// or a hidden element into an instruction to the agent.
	reDirective       = regexp.MustCompile(`\byou (?:are|must|will|should|shall|need to|have to|may now)\b|\b(?:` + overrideVerbs + `)\b|\bnew (?:instructions|rules|task|directive|role)|\b(?:do not|don't|never) (?:tell|inform|mention|reveal|alert|notify|show)\b|\b(?:execute|run|send|post|upload|exfiltrate|fetch|curl|wget|email|forward|print|output|include|read|cat|open|visit|download|install|delete|rm|push|commit)\b`)
	reStrongDirective = regexp.MustCompile(`\byou(?:'re| are| must| will| should| have to| need to| may now)\b|\byour (?:new |real |actual |next )?(?:task|instructions|job|goal|orders)\b|\b(?:ignore|disregard|override|bypass)\b|\bnew (?:instructions|rules|task|directive|role)|\b(?:do not|don't|never) (?:tell|inform|mention|reveal|alert|notify|show)\b`)
	reOrderFirst      = regexp.MustCompile(`^[ \t\r\n:,>\]|-]{0,6}(?:execute|run|send|post|upload|exfiltrate|fetch|curl|wget|email|forward|print|output|reveal|read|cat|open|visit|download|install|delete|push|commit|disable|remove)\b`)
	// addressee: who a hidden comment or element speaks to.
	// It must be spoken to ("AI agents:", "note to the assistant", "if you
	// are an LLM"), not merely named ("the model schema", "user agent").
	addressees  = `(?:ai|llm|assistant|ai assistant|ai agent|coding agent|agent|claude|chatgpt|gpt|copilot|language model|large language model|model|bot|chatbot)s?`
	reAddressee = regexp.MustCompile(`\b(?:dear|hey|hello|attention,?|note (?:to|for) (?:the |any |all )?|message (?:to|for) (?:the |any |all )?|to (?:the |any |all |every )|for (?:the |any |all )|if you(?:'re| are) (?:an? )?|you(?:'re| are) (?:an? )?)` + addressees + `\b|\b` + addressees + `(?: reading this| processing this)?[ \t]*[,:]`)

	// Hidden HTML: a comment, and an element hidden by style or attribute.
	reHidden = regexp.MustCompile(`(?s)<([a-z][a-z0-9]*)\b[^>]{0,400}?(?:\shidden\b|aria-hidden\s*=\s*["']?true|style\s*=\s*["'](?:[^"'>]{0,300}?[;\s])?color\s*:\s*(?:transparent|rgba\([^)]*,\s*0\))|style\s*=\s*["'][^"'>]{0,300}?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?(?:px|pt|em|rem|%)?\s*[;"']|opacity\s*:\s*0(?:\.0+)?\s*[;"']|(?:left|top|text-indent|margin-left)\s*:\s*-\d{3,}|(?:height|width|max-height)\s*:\s*0(?:px)?\s*[;"'][^"'>]{0,200}?overflow\s*:\s*hidden|clip\s*:\s*rect\(\s*0))[^>]{0,400}>(.{0,1000}?)</([a-z][a-z0-9]*)\s*>`)

	// Markdown images and links, HTML img/a targets.
	reMDLink  = regexp.MustCompile(`!?\[[^\]\n]{0,300}\]\(\s*<?(https?://[^\s)>]{1,1000})`)
	reHTMLSrc = regexp.MustCompile(`<(?:img|a|iframe|source|image|link)\b[^>]{0,400}?\s(?:src|href|srcset|data-src)\s*=\s*["']?(https?://[^"'\s>]{1,1000})`)
	// placeholder: a slot for the agent to fill with data.
	rePlaceholder = regexp.MustCompile(`\{\{?[ \t]*[a-z_][a-z0-9_ .-]{0,60}\}\}?|\$\{?[a-z_][a-z0-9_]{1,40}\}?|<[a-z_][a-z0-9_ -]{1,40}(?:>|$)|\[[a-z_][a-z0-9_ -]{2,40}\]|%s\b|\b(?:(?:insert|paste|append|add|put)[_ -]?(?:(?:your|the|my|user'?s?)[_ -]?)?|(?:your|user'?s?)[_ -])(?:secret|token|key|password|credentials?|data|env|environment|history|conversation|chat|content|api[_ -]?key|ssh[_ -]?key|file|here)s?(?:[_ -]here)?\b`)
	// dataSlot: a placeholder in a URL path must name data (docs
	// templates write https://x/docs/{version}/).
	reDataSlot = regexp.MustCompile(`secret|token|key|passw|cred|env|data|histor|conversation|chat|content|file|ssh|cookie|session|user|prompt|memory|context`)
)

// Scan reports the findings in b, one window of text. The spans are in b.
func (s *Scanner) Scan(b []byte) []Finding {
	if len(b) == 0 {
		return nil
	}
	var out []Finding
	low := lowerASCII(b)
	out = s.scanView(out, b, low, nil)
	// Decoded view: HTML entities and JSON escapes undone, invisible
	// characters dropped. Matches only it has are mapped back to b; one
	// whose span held invisible characters is inject.invisible.
	if needsNormalizing(b) {
		norm, pos := normalize(b)
		out = s.scanView(out, b, lowerASCII(norm), pos)
	}
	if s.on("invisible") {
		out = append(out, invisibleRuns(b)...)
	}
	return dedupe(out)
}

// scanView runs the text rules on one view. pos maps view offsets to b's
// (nil: the view is b itself).
func (s *Scanner) scanView(out []Finding, b, low []byte, pos []int32) []Finding {
	add := func(kind string, start, end int) {
		rs, re := start, end
		if pos != nil {
			rs, re = mapSpan(pos, start, end, len(b))
			if hasInvisible(b[rs:re]) && kind != "exfil-link" {
				kind = "invisible"
			}
		}
		if !s.on(kind) {
			return
		}
		out = append(out, Finding{Rule: RulePrefix + kind, Start: rs, End: re, Excerpt: excerpt(b[rs:re])})
	}
	if s.on("override") || s.on("invisible") {
		for _, m := range matchNear(low, overrideTriggers, reOverride, reOverride2) {
			if !quotedOrDiscussed(low, m[0], m[1], false) {
				add("override", phraseStart(low, m[0], m[1]), m[1])
			}
		}
	}
	if s.on("role") || s.on("invisible") {
		for _, m := range matchNear(low, roleTriggers, reRole) {
			if followedByDirective(low, m[1]) && !quotedOrDiscussed(low, m[0], m[1], true) {
				add("role", m[0], m[1])
			}
		}
	}
	if s.on("authority") || s.on("invisible") {
		for _, m := range matchNear(low, authorityTriggers, reAuthority) {
			if followedByDirective(low, m[1]) && !quotedOrDiscussed(low, m[0], m[1], true) {
				add("authority", m[0], m[1])
			}
		}
	}
	if (s.on("hidden-comment") || s.on("invisible")) && bytes.Contains(low, []byte("<!--")) {
		for _, m := range comments(low) {
			if instructs(low[m[0]+4 : m[1]-3]) {
				add("hidden-comment", m[0], m[1])
			}
		}
	}
	if (s.on("css-hidden") || s.on("invisible")) && hasHidingMarkup(low) {
		for _, m := range reHidden.FindAllSubmatchIndex(low, -1) {
			if string(low[m[2]:m[3]]) == string(low[m[6]:m[7]]) && instructs(stripTags(low[m[4]:m[5]])) {
				add("css-hidden", m[0], m[1])
			}
		}
	}
	if s.on("exfil-link") && (bytes.Contains(low, []byte("](")) || bytes.Contains(low, []byte("http"))) {
		for _, re := range []*regexp.Regexp{reMDLink, reHTMLSrc} {
			for _, m := range re.FindAllSubmatchIndex(low, -1) {
				if exfilURL(b[m[2]:m[3]]) {
					add("exfil-link", m[0], m[1])
				}
			}
		}
	}
	return out
}

// matchNear finds the matches of res that overlap a trigger literal. Each
// trigger hit is examined in a bounded region around it.
func matchNear(low []byte, triggers [][]byte, res ...*regexp.Regexp) [][2]int {
	const before, after = 200, 400
	var out [][2]int
	for _, tr := range triggers {
		for i := 0; i < len(low); {
			j := bytes.Index(low[i:], tr)
			if j < 0 {
				break
			}
			at := i + j
			i = at + len(tr)
			lo, hi := max(0, at-before), min(len(low), at+len(tr)+after)
			for _, re := range res {
				for _, m := range re.FindAllIndex(low[lo:hi], -1) {
					st, en := lo+m[0], lo+m[1]
					if lo > 0 && m[0] == 0 {
						continue // cut by the region: the "^" is not a real start
					}
					if st <= at+len(tr) && en >= at {
						out = append(out, [2]int{st, en})
					}
				}
			}
		}
	}
	return out
}

// followedByDirective: the 300 bytes after a marker read as an
// instruction to the agent: spoken to it ("you must", "your task"), an
// override, a gag ("do not tell the user"), or an order right after the
// marker ("SYSTEM: execute ..."). A log line "[SYSTEM] scheduler started"
// or "System: Linux 6.8" is none of these.
func followedByDirective(low []byte, end int) bool {
	t := low[end:min(len(low), end+300)]
	// The same paragraph: an ordinary page goes on to other text.
	for _, stop := range []string{"\n\n", "</p>", "</div>", "</li>"} {
		if i := bytes.Index(t, []byte(stop)); i >= 0 {
			t = t[:i]
		}
	}
	return reStrongDirective.Match(t) || reOrderFirst.Match(t)
}

// instructs: hidden text that addresses the agent with a directive, or
// carries an override, role or authority marker.
func instructs(t []byte) bool {
	if reOverride.Match(t) || reOverride2.Match(t) || reAuthority.Match(t) || reRole.Match(t) {
		return true
	}
	return reAddressee.Match(t) && reDirective.Match(t)
}

// comments finds the HTML comments in low, each at most 4 KiB (a longer
// one is not a comment to this rule: its text is still read by the
// others).
func comments(low []byte) [][2]int {
	var out [][2]int
	for i := 0; ; {
		j := bytes.Index(low[i:], []byte("<!--"))
		if j < 0 {
			return out
		}
		s := i + j
		k := bytes.Index(low[s+4:min(len(low), s+4+4096)], []byte("-->"))
		if k < 0 {
			i = s + 4
			continue
		}
		e := s + 4 + k + 3
		out = append(out, [2]int{s, e})
		i = e
	}
}

// hasHidingMarkup is the cheap test in front of reHidden.
func hasHidingMarkup(low []byte) bool {
	for _, k := range []string{"style", "hidden"} {
		if bytes.Contains(low, []byte(k)) {
			return true
		}
	}
	return false
}

// stripTags drops markup so an element's text is read as text.
func stripTags(b []byte) []byte {
	var o []byte
	in := false
	for _, c := range b {
		switch {
		case c == '<':
			in = true
			o = append(o, ' ')
		case c == '>':
			in = false
		case !in:
			o = append(o, c)
		}
	}
	return o
}

// discussion marks text about prompt injection rather than an instance of
// it: security articles, docs and tests quote the phrases next to words
// like these.
var discussion = [][]byte{
	[]byte("prompt injection"), []byte("prompt-injection"), []byte("injection attack"), []byte("jailbreak"),
	[]byte("for example"), []byte("e.g."), []byte("such as"), []byte("phrases like"), []byte("strings like"),
	[]byte("for instance"), []byte("example:"), []byte("examples:"), []byte("payload"), []byte("attacker"),
	[]byte("malicious"), []byte("owasp"), []byte("llm01"), []byte("detect"), []byte("classifier"),
}

// action: an override that goes on to order something is an attack even
// in a page that discusses attacks.
var reAction = regexp.MustCompile(`^[^.\n]{0,40}?\b(?:and|then|instead)\b[^.\n]{0,40}?\b(?:send|post|upload|exfiltrate|fetch|curl|wget|email|forward|print|output|reveal|read|cat|run|execute|delete|push|tell)\b`)

// quotedOrDiscussed is the false-positive guard of the phrase rules: the
// match is quoted (quote mark or backtick right before it, inside a code
// element or a fenced block), or it sits in text that discusses prompt
// injection and orders nothing further.
func quotedOrDiscussed(low []byte, start, end int, markerRule bool) bool {
	p := phraseStart(low, start, end)
	qs := []int{p - 1}
	if markerRule {
		qs = append(qs, start-1)
	}
	for _, q := range qs {
		if q >= 0 {
			switch low[q] {
			case '"', '\'', '`':
				return true
			}
		}
	}
	for _, q := range []string{"\u201c", "\u2018", "\u00ab", "&quot;", "&#39;", "\\\""} {
		if bytes.HasSuffix(low[:p], []byte(q)) || bytes.HasSuffix(bytes.TrimRight(low[:start], " \t"), []byte(q)) {
			return true
		}
	}
	if insideCode(low, start) {
		return true
	}
	lo := max(0, start-400)
	ctx := low[lo:min(len(low), end+200)]
	for _, d := range discussion {
		if bytes.Contains(ctx, d) {
			return !reAction.Match(low[end:min(len(low), end+120)])
		}
	}
	return false
}

// phraseStart skips the imperative-position prefix of a match (the
// sentence end, tag end or list marker before the phrase).
func phraseStart(low []byte, start, end int) int {
	p := start
	for p < end && strings.IndexByte(".!?:;>\n\r\t *])-,<!\u2022", low[p]) >= 0 {
		p++
	}
	return p
}

// insideCode: an open <code>, <pre>, <kbd>, <samp>, <q> or <blockquote>
// element, or an odd number of ``` fences, before at.
func insideCode(low []byte, at int) bool {
	head := low[max(0, at-4096):at]
	for _, tag := range []string{"code", "pre", "kbd", "samp", "q", "blockquote", "tt", "textarea", "script"} {
		o := lastTag(head, "<"+tag)
		if o >= 0 && o > bytes.LastIndex(head, []byte("</"+tag)) {
			return true
		}
	}
	if bytes.Count(head, []byte("```"))%2 == 1 {
		return true
	}
	// An inline `code span` on the same line.
	line := head[bytes.LastIndexByte(head, '\n')+1:]
	return bytes.Count(line, []byte("`"))%2 == 1
}

// lastTag finds the last "<tag" that is a whole tag name ("<q" is not
// "<quote").
func lastTag(head []byte, open string) int {
	for end := len(head); end > 0; {
		i := bytes.LastIndex(head[:end], []byte(open))
		if i < 0 {
			return -1
		}
		if k := i + len(open); k == len(head) || head[k] == '>' || head[k] == ' ' || head[k] == '\t' || head[k] == '\n' {
			return i
		}
		end = i
	}
	return -1
}

func dedupe(fs []Finding) []Finding {
	if len(fs) < 2 {
		return fs
	}
	slices.SortFunc(fs, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
	out := fs[:1]
	for _, f := range fs[1:] {
		last := &out[len(out)-1]
		if f.Start < last.End { // overlapping: keep one span, the union
			last.End = max(last.End, f.End)
			continue
		}
		out = append(out, f)
	}
	return out
}

// excerpt is a log-safe rendering: at most 80 bytes, control and
// invisible characters shown as \u escapes.
func excerpt(b []byte) string {
	var sb strings.Builder
	for _, r := range string(b[:min(len(b), 120)]) {
		if sb.Len() >= 80 {
			sb.WriteString("...")
			break
		}
		if r < 0x20 || r == 0x7f || isInvisible(r) {
			fmt.Fprintf(&sb, "\\u%04x", r)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// lowerASCII lower-cases ASCII letters only, so offsets are unchanged.
func lowerASCII(b []byte) []byte {
	o := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		o[i] = c
	}
	return o
}
