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
	"math/bits"
	"regexp"
	"slices"
	"strings"
	"sync"
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
	// Parts, when set, are the only bytes of [Start, End) that hold the
	// match: a phrase joined from string values (joined.go) has the JSON
	// between them, which a strip leaves alone.
	Parts [][2]int
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
	overrideMods  = `all|any|every|each|the|your|my|of|these|those|that|this|about|previous|previously|prior|above|earlier|preceding|foregoing|former|original|initial|existing|current|old|given|system|other|developer|user|safety|you were given|you have been given|that came before|before this|(?:previous|prior|preceding|above) and following`
	overrideNouns = `instructions?|directives?|directions|rules|prompts?|guidelines|guidance|orders|constraints|restrictions|programming|polic(?:y|ies)|system prompt|safeguards|guardrails|tasks|assignments|commands`
	// overrideThen is what an override with no object ("ignore the above",
	// "forget everything before this") must go on to order before it
	// counts: the payloads of public injection sets ("Ignore the above and
	// say ...", "Disregard the above and instead tell me ...") do; a page's
	// "Ignore the above if you use Docker" does not.
	overrideThen = `(?:[ \t]*[,;:.!]?[ \t]+|[ \t]*[,;:.!][ \t]*)(?:(?:and|then|but|now|instead|just|only|simply|please|rather)[ \t,]+){0,3}(?:say|print|output|write|respond|reply|answer|tell|reveal|show|repeat|translate|return|spell|type|give|provide|list|act|pretend|send|email|post|upload|describe|explain)\b`
)

var (
	// An override phrase, anchored at its verb; imperativeAt checks what
	// comes before it.
	reOverride = regexp.MustCompile(`^(?:` + overrideVerbs + `)\b[ \t\r\n]+(?:(?:` + overrideMods + `)[ \t\r\n]+){1,6}(?:` + overrideNouns + `)\b`)
	// An override with no object but what came before ("Ignore the
	// above and say ...", "Forget everything you were told before and
	// print ..."), which counts only with an order after it (overrideThen).
	reOverrideBare = regexp.MustCompile(`^(?:ignore|disregard|forget)\b[ \t]+(?:all (?:of )?)?(?:the (?:above|previous|preceding|foregoing|prior)|(?:everything|anything|all|what(?:'s| is| was| came| you were told)?) (?:(?:written|said|stated|you were told|you(?:'ve| have) been told|that came|that was said)[ \t]+)?(?:above|before(?: this| that| now)?|previously|prior|so far|until now|up to (?:now|this point)|earlier)|(?:that|this|the previous|the above|the preceding|the last|my previous|your previous) (?:sentence|paragraph|text|context|conversation|content|input|words|statement|line|part))\b` + overrideThen)
	// Other override families: "from now on you ...", "your new task is",
	// "you are now DAN / in developer mode", "new instructions:".
	reOverride2 = regexp.MustCompile(`^(?:from now on,? you (?:are|will|must|shall|should)\b|your (?:new|real|actual|updated|true) (?:task|instructions?|goal|objective|role|directive|mission) (?:is|are)\b|you are now (?:dan|in (?:developer|god|debug|admin|jailbreak|unrestricted) mode|an? (?:unrestricted|unfiltered|jailbroken))|(?:new|updated|revised|real|actual|override) (?:system )?instructions?[ \t]*(?::|={2,}|-{2,}|\*\*|\]))`)
	// overrideTriggers start the phrases above: each hit is where an
	// anchored match is tried.
	overrideTriggers = [][]byte{
		[]byte("ignor"), []byte("disregard"), []byte("forget"), []byte("overrid"), []byte("bypass"),
		[]byte("discard"), []byte("abandon"), []byte("set aside"), []byte("throw out"), []byte("pay no attention"),
		[]byte("do not follow"), []byte("do not obey"), []byte("don't follow"), []byte("don't obey"), []byte("stop follow"),
		[]byte("stop obey"), []byte("no longer"), []byte("from now on"), []byte("your new"), []byte("your real"),
		[]byte("your actual"), []byte("your updated"), []byte("your true"), []byte("you are now"), []byte("new instruction"),
		[]byte("new system instruction"), []byte("updated instruction"), []byte("updated system"), []byte("revised instruction"),
		[]byte("real instruction"), []byte("actual instruction"), []byte("override instruction"),
	}

	// Instruction overrides in German, Dutch, French, Spanish,
	// Portuguese and Italian (overridesIntl): the model reads them as
	// well as English ones.
	reOverrideIntl = regexp.MustCompile(intlOverridePattern())

	// Fake system / role blocks: a chat-template token or system tag.
	reRole       = regexp.MustCompile(`^(?:<\s*/?\s*(?:system|system[_ -]?(?:prompt|message|instructions?)|sys|admin|developer|operator)\s*>|<\|\s*(?:im_start|im_end|system|endoftext|start_header_id|end_header_id|eot_id)\s*\|>|<<\s*/?sys\s*>>|\[\s*/?\s*(?:system|inst|sys|admin|developer|system (?:message|prompt|override|note)|(?:admin|developer|system) override)\s*\](?:\(#[^)\s]{0,40}\))?|(?:\n|>)[ \t>#*]*(?:system|developer|admin)(?: (?:prompt|message|override|notice|instruction))?[ \t]*:|\n\n(?:human|assistant)[ \t]*:)`)
	roleTriggers = [][]byte{[]byte("system"), []byte("<|"), []byte("<<"), []byte("[inst"), []byte("[/inst"), []byte("admin"), []byte("developer"), []byte("operator"), []byte("sys>"), []byte("human"), []byte("assistant")}

	// Authority claims addressed to the model.
	reAuthority = regexp.MustCompile(`(?:(?:message|note|notice|instructions?|directive|update) (?:from|by) (?:anthropic|openai|the (?:developers?|operators?|administrators?|admins?|system(?: administrators?| admins?| operators?)?|site owner)|your (?:developers?|creators?|operators?|administrators?))|(?:note|message|instructions?|attention|notice|important|warning|reminder)(?: for| to)? (?:the |all |any )?(?:ai|llm|assistant|agent|language model|claude|chatgpt|gpt|copilot|ai agent|ai assistant|coding agent|model)s?(?: (?:agent|assistant|model|bot)s?)?\b[ \t]*[,:!-]|if you are an? (?:ai|llm|large language model|language model|assistant|ai agent|ai assistant|coding agent|claude|bot|automated agent)\b|to (?:any|all|the|every) (?:ai|llm|ai agent|ai assistant|language model|coding agent|assistant)s? (?:reading|processing|parsing|summari[sz]ing|visiting|browsing)|(?:anthropic|openai|the developers?|your (?:developers?|creators?|operators?)) (?:has|have) (?:authorized|instructed|updated|requested|approved|changed)\b|(?:dear|hey|hello|hi) (?:the )?(?:ai|llm|claude|chatgpt|copilot|assistant|language model)s?(?: (?:agent|assistant|model|bot)s?)?\b[ \t]*[,:!-]|(?:\n|[.!?>][ \t]*)(?:ai|llm|coding) (?:agent|assistant|model)s?[ \t]*:)`)
	// authorityTriggers: the rare words every alternative of reAuthority
	// holds (the sender or the addressee); authorities checks the word
	// next to each before running the regexp.
	authorityTriggers = [][]byte{[]byte("anthropic"), []byte("openai"), []byte("developer"), []byte("creator"), []byte("operator"), []byte("admin"), []byte("system"), []byte("site owner"), []byte("if you are a"),
		[]byte("ai"), []byte("llm"), []byte("assistant"), []byte("agent"), []byte("claude"), []byte("chatgpt"), []byte("gpt"), []byte("copilot"), []byte("language model"), []byte("model")}

	// directive: what turns a role or authority marker, a hidden comment
	// or a hidden element into an instruction to the agent.
	reDirective = regexp.MustCompile(`\byou (?:are|must|will|should|shall|need to|have to|may now)\b|\b(?:` + overrideVerbs + `)\b|\bnew (?:instructions|rules|task|directive|role)|\b(?:do not|don't|never) (?:tell|inform|mention|reveal|alert|notify|show)\b|\b(?:execute|run|send|post|upload|exfiltrate|fetch|curl|wget|email|forward|print|output|include|read|cat|open|visit|download|install|delete|rm|push|commit)\b`)
	// A bare override verb counts, but not as the head of a compound
	// name: "[inst] ... in ignore-case mode" in a real ChangeLog
	// (libonig5's) read as an order.
	reStrongDirective = regexp.MustCompile(`\byou(?:'re| are| must| will| should| have to| need to| may now)\b|\b(?:authori[sz]ed|allowed|permitted|instructed|requires?|required|wants?|expects?|orders?) you to\b|\bunrestricted (?:ai|assistant|bot|mode|model)\b|\bnot restricted by (?:the|any|your) (?:rules|guidelines|instructions)\b|\byour (?:new |real |actual |next )?(?:task|instructions|job|goal|orders)\b|\b(?:ignore|disregard|override|bypass)\b(?:[^-]|$)|\bnew (?:instructions|rules|task|directive|role)|\b(?:do not|don't|never) (?:tell|inform|mention|reveal|alert|notify|show)\b`)
	reOrderFirst      = regexp.MustCompile(`^[ \t\r\n:,>\]|-]{0,6}(?:(?:please|kindly|now|immediately)[ \t,]+)?(?:execute|run|send|post|upload|exfiltrate|fetch|curl|wget|email|forward|print|output|reveal|read|cat|open|visit|download|install|delete|push|commit|disable|remove|delete|ignore|disregard)\b`)
	// reHiddenOrder: an order to the reader to move data, in hidden text
	// ("You must send ..."); an issue template's "make sure you are able
	// to" is none.
	reHiddenOrder = regexp.MustCompile(`\byou (?:must|need to|have to|should|are to|will) (?:now |also |first |immediately )?(?:send|post|upload|email|forward|fetch|run|execute|curl|include|print|output|reveal|copy|paste|read|cat|share|submit)\b`)
	// reDataOut: a destination or a secret named in hidden text.
	reDataOut = regexp.MustCompile(`https?://|~/|\.env\b|\.ssh\b|credentials|api[ _-]?keys?\b|tokens?\b|secrets?\b|passwords?\b`)
	// addressee: who a hidden comment or element speaks to.
	// It must be spoken to ("AI agents:", "note to the assistant", "if you
	// are an LLM"), not merely named ("the model schema", "user agent").
	addressees  = `(?:ai|llm|assistant|ai assistant|ai agent|coding agent|agent|claude|chatgpt|gpt|copilot|language model|large language model|model|bot|chatbot)s?`
	reAddressee = regexp.MustCompile(`\b(?:dear|hey|hello|attention,?|note (?:to|for) (?:the |any |all )?|message (?:to|for) (?:the |any |all )?|to (?:the |any |all |every )|for (?:the |any |all )|if you(?:'re| are) (?:an? )?|you(?:'re| are) (?:an? )?)` + addressees + `\b|\b` + addressees + `(?: reading this| processing this)?[ \t]*[,:]`)

	// Hidden HTML: a comment, and an element hidden by style or attribute.
	reHidden = regexp.MustCompile(`(?s)<([a-z][a-z0-9]*)\b[^>]{0,400}?(?:\shidden\b|aria-hidden\s*=\s*["']?true|style\s*=\s*["'](?:[^"'>]{0,300}?[;\s])?color\s*:\s*(?:transparent|rgba\([^)]*,\s*0\))|style\s*=\s*["'][^"'>]{0,300}?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?(?:px|pt|em|rem|%)?\s*[;"']|opacity\s*:\s*0(?:\.0+)?\s*[;"']|(?:left|top|text-indent|margin-left)\s*:\s*-\d{3,}|(?:height|width|max-height)\s*:\s*0(?:px)?\s*[;"'][^"'>]{0,200}?overflow\s*:\s*hidden|clip\s*:\s*rect\(\s*0))[^>]{0,400}>(.{0,1000}?)</([a-z][a-z0-9]*)\s*>`)

	// Markdown images and links, HTML img/a targets.
	// placeholder: a slot for the agent to fill with data.
	rePlaceholder = regexp.MustCompile(`\{\{?[ \t]*[a-z_][a-z0-9_ .-]{0,60}\}\}?|\$\{?[a-z_][a-z0-9_]{1,40}\}?|<[a-z_][a-z0-9_ -]{1,40}(?:>|$)|\[[a-z_][a-z0-9_ -]{2,40}\]|%s\b|\b(?:(?:insert|paste|append|add|put)[_ -]?(?:(?:your|the|my|user'?s?)[_ -]?)?|(?:your|user'?s?)[_ -])(?:secret|token|key|password|credentials?|data|env|environment|history|conversation|chat|content|api[_ -]?key|ssh[_ -]?key|file|here)s?(?:[_ -]here)?\b`)
	// dataSlot: a placeholder in a URL path must name data (docs
	// templates write https://x/docs/{version}/).
	reDataSlot = regexp.MustCompile(`secret|token|key|passw|cred|env|data|histor|conversation|chat|content|file|ssh|cookie|session|user|prompt|memory|context`)
)

// Scan reports the findings in b, one window of text. The spans are in b.
func (s *Scanner) Scan(b []byte) []Finding {
	return s.scanStream(b, 0, &lexState{}, nil)
}

// scanStream is Scan for a window of a streamed body whose bytes from on
// were not lexed before: string values are joined after what earlier
// windows carried (st, tails).
func (s *Scanner) scanStream(b []byte, from int, st *lexState, tails *joinTails) []Finding {
	return dedupe(s.scanJoined(s.scanText(b), b, from, st, tails))
}

// scanText reports the findings of the plain and decoded views of b.
func (s *Scanner) scanText(b []byte) []Finding {
	if len(b) == 0 {
		return nil
	}
	var out []Finding
	// The lower-cased view is scratch: no finding points into it, so its
	// buffer is reused across windows instead of a new 64 KiB per Scan.
	// One pass lower-cases b and finds every trigger literal (lowerIndex).
	vs := lowBufs.Get().(*viewScratch)
	defer lowBufs.Put(vs)
	low, ix, nonASCII := lowerIndexInto(vs.low, b, &vs.ix)
	vs.low = low
	out = s.scanView(out, b, low, ix, nil)
	// Decoded view: HTML entities and JSON escapes undone, invisible
	// characters dropped. Matches only it has are mapped back to b; one
	// whose span held invisible characters is inject.invisible.
	if needsNormalizing(b, nonASCII) {
		// The decoded view and its map are scratch too (no finding
		// points into them): pooled as the lower-cased view is.
		ns := normBufs.Get().(*normScratch)
		norm, m := normalizeInto(ns.buf, &ns.m, b)
		nlow, nix, _ := lowerIndexInto(norm, norm, &ns.ix) // in place: norm is scratch
		ns.buf = nlow
		out = s.scanView(out, b, nlow, nix, m)
		normBufs.Put(ns)
	}
	if nonASCII && s.on("invisible") {
		out = append(out, invisibleRuns(b)...)
	}
	return dedupe(out)
}

// scanView runs the text rules on one view. pos maps view offsets to b's
// (nil: the view is b itself).
func (s *Scanner) scanView(out []Finding, b, low []byte, ix *index, pos *normMap) []Finding {
	add := func(kind string, start, end int) {
		rs, re := start, end
		if pos != nil {
			rs, re = pos.span(start, end)
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
		for _, m := range overrides(low, ix) {
			if !quotedOrDiscussed(low, m[0], m[1], false) {
				add("override", m[0], m[1])
			}
		}
	}
	if s.on("role") || s.on("invisible") {
		for _, m := range roles(low, ix) {
			if followedByDirective(low, m[1]) && !quotedOrDiscussed(low, m[0], m[1], true) {
				add("role", m[0], m[1])
			}
		}
	}
	if s.on("authority") || s.on("invisible") {
		for _, m := range authorities(low, ix) {
			if followedByDirective(low, m[1]) && !quotedOrDiscussed(low, m[0], m[1], true) {
				add("authority", m[0], m[1])
			}
		}
	}
	if (s.on("hidden-comment") || s.on("invisible")) && len(ix.at(commentOpen)) > 0 {
		for _, m := range comments(low, ix) {
			if instructs(low[m[0]+4 : m[1]-3]) {
				add("hidden-comment", m[0], m[1])
			}
		}
	}
	if s.on("css-hidden") || s.on("invisible") {
		for _, m := range hiddenElements(low, ix) {
			add("css-hidden", m[0], m[1])
		}
	}
	if s.on("exfil-link") && pos == nil { // URLs are read as sent: offsets in b
		for _, m := range exfilLinks(b, low, ix) {
			add("exfil-link", m[0], m[1])
		}
	}
	return out
}

// authorities finds authority claims: at each sender or addressee word
// (on word boundaries) whose neighbour fits one of reAuthority's shapes,
// the regexp runs on the region around it.
func authorities(low []byte, ix *index) [][2]int {
	var out [][2]int
	for _, tr := range authorityTriggers {
		for _, at := range ix.at(tr) {
			e := at + len(tr)
			if at > 0 && isWordByte(low[at-1]) || e < len(low) && isWordByte(low[e]) && low[e] != 's' && tr[len(tr)-1] != 'a' {
				continue
			}
			if !authorityShape(low, at, e) {
				continue
			}
			out = appendAuthorities(out, low, at, e)
		}
	}
	return out
}

// appendAuthorities adds reAuthority's matches in the region around the
// trigger [at, e) that overlap it: what FindAllIndex on the region
// returns, found by trying the anchored pattern only where a match can
// start (authorityStarts). The unanchored search runs every alternative's
// automaton at every byte, which cost a quarter of a page's scan for a
// few triggers.
func appendAuthorities(out [][2]int, low []byte, at, e int) [][2]int {
	lo, hi := max(0, at-48), min(len(low), e+64)
	for p := lo; p <= e && p < hi; {
		if !authorityStarts.at(low, p) {
			p++
			continue
		}
		m := reAuthorityAt.FindIndex(low[p:hi])
		if m == nil {
			p++
			continue
		}
		if en := p + m[1]; en >= at {
			out = append(out, [2]int{p, en})
		}
		p += max(m[1], 1)
	}
	return out
}

var (
	reAuthorityAt   = regexp.MustCompile(`^` + reAuthority.String())
	authorityStarts = startsOf(reAuthority.String())
)

// authorityShape is the cheap test in front of reAuthority: what follows
// the trigger (a separator, "has", "have", "reading") or precedes it
// ("from", "by", "from the", "by your").
func authorityShape(low []byte, at, e int) bool {
	if low[at] == 'i' && bytes.HasPrefix(low[at:], []byte("if you are a")) {
		return true
	}
	k := e
	if k < len(low) && low[k] == 's' {
		k++
	}
	for k < len(low) && (low[k] == ' ' || low[k] == '\t') {
		k++
	}
	if k < len(low) && strings.IndexByte(",:!-", low[k]) >= 0 {
		return true
	}
	switch string(wordAt(low, k)) {
	case "has", "have", "reading", "processing", "parsing", "summarizing", "summarising", "visiting", "browsing":
		return true
	}
	// "... from Anthropic", "... by the developers", "from your operator"
	switch p := prevWord(low, at); string(p) {
	case "from", "by":
		return true
	case "the", "your":
		k := at
		for k > 0 && low[k-1] == ' ' {
			k--
		}
		switch string(prevWord(low, k-len(p))) {
		case "from", "by":
			return true
		}
	}
	return false
}

// wordAt is the run of lower-case letters at low[k:]. It is a slice, not
// a string: the callers switch on it or look it up in a map, which the
// compiler does without copying, and it runs at every authority hit.
func wordAt(low []byte, k int) []byte {
	e := k
	for e < len(low) && low[e] >= 'a' && low[e] <= 'z' {
		e++
	}
	return low[k:e]
}

// prevWord is the run of lower-case letters before at, over spaces and
// tabs (a slice, as wordAt).
func prevWord(low []byte, at int) []byte {
	k := at
	for k > 0 && (low[k-1] == ' ' || low[k-1] == '\t') {
		k--
	}
	e := k
	for k > 0 && low[k-1] >= 'a' && low[k-1] <= 'z' {
		k--
	}
	return low[k:e]
}

// roles finds fake system and role blocks: reRole tried at the tag,
// bracket or line start just before each trigger.
func roles(low []byte, ix *index) [][2]int {
	var out [][2]int
	for _, tr := range roleTriggers {
		for _, at := range ix.at(tr) {
			// The places k in [at-8, at] roleShape can accept, as bits
			// (k = lo + bit): nine table loads with no branch, where
			// testing each byte mispredicted on markup's many '>'.
			lo := max(0, at-8)
			var opens uint32
			for j, c := range low[lo : at+1] {
				opens |= uint32(roleOpener[c]) << j
			}
			for ; opens != 0; opens &= opens - 1 {
				k := lo + bits.TrailingZeros32(opens)
				if !roleShape(low, k) {
					continue
				}
				if m := reRole.FindIndex(low[k:min(len(low), k+96)]); m != nil && k+m[1] > at {
					out = append(out, [2]int{k, k + m[1]})
					break
				}
			}
		}
	}
	return out
}

// roleShape is the cheap test in front of reRole at k: the marker's
// opening byte and what must follow it (a tag or bracket name, a chat
// token, a role word at a line start). HTML has a '>' or '<' before most
// words, and the regexp's backtracker clears a bitmap per try.
func roleShape(low []byte, k int) bool {
	c := low[k]
	rest := low[k+1:]
	switch c {
	case '<', '[':
		rest = trimSpaceRE2(rest)
		if len(rest) > 0 && (rest[0] == '/' || c == '<' && (rest[0] == '|' || rest[0] == '<')) {
			return true
		}
		for _, w := range roleTagWords {
			if bytes.HasPrefix(rest, w) {
				return true
			}
		}
		return false
	case '\n', '>':
		if c == '\n' && len(rest) > 0 && rest[0] == '\n' {
			return true
		}
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '>' || rest[0] == '#' || rest[0] == '*') {
			rest = rest[1:]
		}
		return bytes.HasPrefix(rest, []byte("system")) || bytes.HasPrefix(rest, []byte("developer")) || bytes.HasPrefix(rest, []byte("admin"))
	}
	return false
}

// roleOpener: the bytes roleShape can accept at k, tested before the
// call at each of the 9 places roles tries per trigger.
var roleOpener = [256]uint8{'<': 1, '[': 1, '\n': 1, '>': 1}

// roleTagWords start every tag or bracket name reRole knows.
var roleTagWords = [][]byte{[]byte("sys"), []byte("admin"), []byte("developer"), []byte("operator"), []byte("inst")}

// trimSpaceRE2 drops what RE2's \s matches: tab, newline, form feed,
// carriage return and space.
func trimSpaceRE2(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\f' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// overrides finds instruction overrides in imperative position: at the
// start of a sentence, line, element, comment or list item, optionally
// after a vocative or politeness word ("AI assistant, please ignore
// ..."). A phrase reported in prose ("tell it to ignore previous
// instructions") is not in it. The match is tried anchored at each trigger.
func overrides(low []byte, ix *index) [][2]int {
	var out [][2]int
	for _, tr := range overrideTriggers {
		ignor := string(tr) == "ignor"
		for _, at := range ix.at(tr) {
			if at > 0 && isWordByte(low[at-1]) {
				continue
			}
			rest := low[at:min(len(low), at+240)]
			shaped := overrideShape(rest)
			m := overrideAt(tr, ignor, shaped, rest)
			if m == nil && markupSplits(rest, shaped) {
				// "Ignore <b>all</b> previous", "**Ignore** all previous":
				// the phrase read with its inline markup taken out, the
				// match's end mapped back.
				var sc inlineScratch
				clean := sc.strip(rest)
				if m = overrideAt(tr, ignor, overrideShape(clean), clean); m != nil {
					m = []int{0, sc.src[m[1]-1] + 1}
				}
			}
			if m != nil && imperativeAt(low, at) {
				out = append(out, [2]int{at, at + m[1]})
			} else if ignor && (bytes.HasPrefix(rest[5:], []byte("ieren")) || bytes.HasPrefix(rest[5:], []byte("eren"))) {
				if m, ok := verbFinal(low, at); ok { // "alle Anweisungen ignorieren"
					out = append(out, m)
				}
			}
		}
	}
	return append(out, overridesIntl(low, ix)...)
}

// overrideAt tries the override patterns anchored at rest, the text
// from a hit of trigger tr on (shaped: overrideShape(rest)).
func overrideAt(tr []byte, ignor, shaped bool, rest []byte) []int {
	var m []int
	if shaped {
		m = reOverride.FindIndex(rest)
	}
	if m == nil && bareShape(rest) {
		m = reOverrideBare.FindIndex(rest)
	}
	if m == nil && !isVerbTrigger(tr) {
		m = reOverride2.FindIndex(rest)
	}
	if m == nil && ignor && intlShape(rest) { // ignoriere, ignorez, ignora
		m = reOverrideIntl.FindIndex(rest)
	}
	if m == nil && ignor && intlBareShape(rest) { // ignoriere alles ... und sag
		m = reIntlBare.FindIndex(rest)
	}
	return m
}

// markupSplits: inline markup may split the phrase at rest (a hit with
// no match): the verb is followed by an emphasis mark or a tag (the
// word after it could not be read), or the word after it was a modifier
// and a tag or emphasis mark comes within the next 120 bytes. The cheap
// test that keeps the retry to those few hits.
func markupSplits(rest []byte, shaped bool) bool {
	k := 0
	for k < len(rest) && (rest[k] >= 'a' && rest[k] <= 'z' || rest[k] == '\'') {
		k++
	}
	// A closing emphasis mark right after the verb ("**Ignore** all"),
	// not an identifier's underscore ("ignore_errors").
	e := k
	for e < len(rest) && (rest[e] == '*' || rest[e] == '_' || rest[e] == '~') {
		e++
	}
	if e > k {
		return e == len(rest) || !isWordByte(rest[e])
	}
	for k < len(rest) && (rest[k] == ' ' || rest[k] == '\t') {
		k++
	}
	if k < len(rest) && (rest[k] == '<' || rest[k] == '*' || rest[k] == '_' || rest[k] == '~') {
		return true
	}
	if !shaped {
		return false
	}
	h := rest[:min(len(rest), 120)]
	return bytes.IndexByte(h, '<') >= 0 || bytes.IndexByte(h, '*') >= 0 || bytes.IndexByte(h, '_') >= 0
}

// inlineScratch is rest with its inline formatting taken out (strip):
// the tags of <b>, <i>, <em>, <strong>, <span>, <a>, <u>, <mark>, <font>,
// ... and markdown's *, _ and ~ runs, which a reader does not see as
// text. src[i] is where clean byte i came from. Block tags, <code> and
// quotes stay: they are what the guards read.
type inlineScratch struct {
	buf [256]byte
	src [256]int
}

func (sc *inlineScratch) strip(rest []byte) []byte {
	n := 0
	for i := 0; i < len(rest) && n < len(sc.buf); {
		c := rest[i]
		if c == '<' {
			if e := inlineTagLen(rest[i:]); e > 0 {
				i += e
				continue
			}
		}
		if c == '*' || c == '_' || c == '~' {
			i++
			continue
		}
		sc.buf[n], sc.src[n] = c, i
		n++
		i++
	}
	return sc.buf[:n]
}

// inlineTags are the elements whose tags strip takes out.
var inlineTags = map[string]bool{
	"b": true, "i": true, "em": true, "strong": true, "span": true, "a": true, "u": true, "s": true, "mark": true,
	"font": true, "small": true, "big": true, "sub": true, "sup": true, "abbr": true, "del": true, "ins": true, "strike": true,
}

// inlineTagLen is the length of the opening or closing inline tag at the
// start of b, or 0.
func inlineTagLen(b []byte) int {
	k := 1
	if k < len(b) && b[k] == '/' {
		k++
	}
	s := k
	for k < len(b) && b[k] >= 'a' && b[k] <= 'z' {
		k++
	}
	if !inlineTags[string(b[s:k])] {
		return 0
	}
	e := bytes.IndexByte(b[k:min(len(b), k+200)], '>')
	if e < 0 || (k < len(b) && b[k] != '>' && b[k] != ' ' && b[k] != '\t' && b[k] != '\n') {
		return 0
	}
	return k + e + 1
}

// overrideShape is the cheap test in front of reOverride: the word after
// the verb phrase is one of its modifiers.
func overrideShape(rest []byte) bool {
	k := 0
	for k < len(rest) && (rest[k] >= 'a' && rest[k] <= 'z' || rest[k] == '\'') {
		k++
	}
	// multi-word verbs: skip to the word after them
	for _, v := range []string{"set aside", "throw out", "pay no attention to", "do not follow", "do not obey", "don't follow", "don't obey", "stop following", "stop obeying", "no longer follow", "no longer obey"} {
		if bytes.HasPrefix(rest, []byte(v)) {
			k = len(v)
			break
		}
	}
	for k < len(rest) && (rest[k] == ' ' || rest[k] == '\t' || rest[k] == '\n' || rest[k] == '\r') {
		k++
	}
	return overrideModWords[string(wordAt(rest, k))]
}

var overrideModWords = map[string]bool{}

// bareShape is the cheap test in front of reOverrideBare: an "ignore",
// "disregard" or "forget" followed by a word its objects start with.
func bareShape(rest []byte) bool {
	k := 0
	for k < len(rest) && rest[k] >= 'a' && rest[k] <= 'z' {
		k++
	}
	switch string(rest[:k]) {
	case "ignore", "disregard", "forget":
	default:
		return false
	}
	for k < len(rest) && (rest[k] == ' ' || rest[k] == '\t') {
		k++
	}
	return bareFirstWords[string(wordAt(rest, k))]
}

var bareFirstWords = map[string]bool{"all": true, "the": true, "everything": true, "anything": true, "what": true, "that": true, "this": true, "my": true, "your": true}

func init() {
	for _, w := range strings.Fields(strings.ReplaceAll(overrideMods, "|", " ")) {
		overrideModWords[w] = true
	}
}

// isVerbTrigger: tr starts an override verb (not a reOverride2 family).
func isVerbTrigger(tr []byte) bool {
	switch tr[0] {
	case 'i', 'd', 'o', 'b', 'a', 's', 't', 'p':
		return !bytes.HasPrefix(tr, []byte("actual")) && !bytes.HasPrefix(tr, []byte("override instruction"))
	}
	return bytes.HasPrefix(tr, []byte("forget")) || bytes.HasPrefix(tr, []byte("no longer"))
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '\''
}

// prefixWords may stand between a sentence start and an override verb.
var prefixWords = map[string]bool{
	"please": true, "now": true, "kindly": true, "first": true, "immediately": true, "important": true,
	"urgent": true, "note": true, "attention": true, "warning": true, "ai": true, "assistant": true,
	"agent": true, "claude": true, "llm": true, "model": true, "bot": true, "chatbot": true, "system": true,
	"also": true, "so": true, "then": true, "and": true,
	// the same in the languages of intlOverrides ("bitte", "por favor",
	// "s'il vous plaît", "veuillez ignorer")
	"bitte": true, "jetzt": true, "sofort": true, "nun": true, "ahora": true, "por": true, "favor": true,
	"maintenant": true, "veuillez": true, "s'il": true, "vous": true, "pla\u00eet": true, "plait": true,
	"agora": true, "ora": true, "adesso": true, "subito": true, "nu": true, "alsjeblieft": true, "alstublieft": true,
}

// imperativeAt: what precedes at is a sentence, line, element or list
// start, reached over at most eight prefix words and separators.
func imperativeAt(low []byte, at int) bool {
	i := at
	for steps := 0; steps < 10; steps++ {
		for i > 0 && (low[i-1] == ' ' || low[i-1] == '\t') {
			i--
		}
		if i == 0 {
			return true
		}
		c := low[i-1]
		switch {
		case strings.IndexByte(".!?:;>\n\r*])-", c) >= 0:
			return true
		case c == '"' && jsonValueOpen(low, i-1): // {"text":"Ignore all ..."}
			return true
		case c == '#' || c == '=': // a heading: "# Ignore all ...", "=== NEW INSTRUCTIONS ==="
			j := i - 1
			for j > 0 && low[j-1] == c {
				j--
			}
			return j == 0 || low[j-1] == '\n' || low[j-1] == '>'

		case c == 0xa2 && i >= 3 && low[i-3] == 0xe2 && low[i-2] == 0x80: // bullet
			return true
		case c == ',':
			i--
			continue
		case c >= 'a' && c <= 'z' || c >= 0x80:
			// Letters beyond ASCII and an apostrophe belong to the word
			// ("plaît", "s'il"); only prefixWords lets the walk go on.
			j := i
			for j > 0 && (low[j-1] >= 'a' && low[j-1] <= 'z' || low[j-1] >= 0x80 || low[j-1] == '\'') {
				j--
			}
			w := string(low[j:i])
			if prefixWords[w] {
				i = j
				continue
			}
			// "you must", "you should", "you will", "you need to", "you have to", "you are to"
			if k := precedingYou(low, j, w); k >= 0 {
				i = k
				continue
			}
			return false
		default:
			return false
		}
	}
	return false
}

// precedingYou: w (ending at j) completes "you must / should / will" or
// "you need / have / are to"; it returns where "you" starts, or -1.
func precedingYou(low []byte, j int, w string) int {
	words := []string{w}
	k := j
	for len(words) < 3 {
		for k > 0 && low[k-1] == ' ' {
			k--
		}
		e := k
		for k > 0 && low[k-1] >= 'a' && low[k-1] <= 'z' {
			k--
		}
		if k == e {
			break
		}
		words = append(words, string(low[k:e]))
		if words[len(words)-1] == "you" {
			switch strings.Join(words, " ") {
			case "must you", "should you", "will you", "to need you", "to have you", "to are you":
				return k
			}
			return -1
		}
	}
	return -1
}

// hiddenElements finds elements hidden by style or attribute whose text
// instructs the agent. Each "style" / "hidden" hit is tried anchored at
// the start of its tag.
func hiddenElements(low []byte, ix *index) [][2]int {
	var out [][2]int
	last := -1
	for _, tr := range hidingTriggers {
		for _, at := range ix.at(tr) {
			lt := bytes.LastIndexByte(low[max(0, at-400):at], '<')
			if lt < 0 {
				continue
			}
			lt += max(0, at-400)
			if lt == last || bytes.IndexByte(low[lt:at], '>') >= 0 {
				continue
			}
			last = lt
			m := reHidden.FindSubmatchIndex(low[lt:min(len(low), lt+2000)])
			if m == nil || m[0] != 0 {
				continue
			}
			if string(low[lt+m[2]:lt+m[3]]) == string(low[lt+m[6]:lt+m[7]]) && instructs(stripTags(low[lt+m[4]:lt+m[5]])) {
				out = append(out, [2]int{lt, lt + m[1]})
			}
		}
	}
	return out
}

// exfilLinks finds markdown images and links, and img/a/iframe/source
// targets, whose URL carries data out (exfilURL).
func exfilLinks(b, low []byte, ix *index) [][2]int {
	var out [][2]int
	for _, at := range ix.at(mdLink) {
		u := linkURL(b, at+2)
		if u == nil || !mightExfil(urlIn(low, b, u)) || !exfilURL(u) {
			continue
		}
		st := bytes.LastIndexByte(low[max(0, at-300):at], '[')
		if st < 0 {
			continue
		}
		st += max(0, at-300)
		if st > 0 && low[st-1] == '!' {
			st--
		}
		out = append(out, [2]int{st, at + 2 + len(u)})
	}
	for _, attr := range linkAttrs {
		for _, at := range ix.at(attr) {
			k := at + len(attr)
			if k < len(low) && (low[k] == '"' || low[k] == '\'') {
				k++
			}
			u := linkURL(b, k)
			if u == nil || !mightExfil(urlIn(low, b, u)) {
				continue
			}
			lt := bytes.LastIndexByte(low[max(0, at-400):at], '<')
			if lt < 0 {
				continue
			}
			lt += max(0, at-400)
			if !reLinkTag.Match(low[lt:at]) || !exfilURL(u) {
				continue
			}
			out = append(out, [2]int{lt, k + len(u)})
		}
	}
	return out
}

var reLinkTag = regexp.MustCompile(`^<(?:img|a|iframe|source|image|link)\b[^>]*$`)

// linkURL reads an http(s) URL starting at k (after "](" or an
// attribute's "="), up to a space, quote, ")" or ">".
func linkURL(b []byte, k int) []byte {
	for k < len(b) && (b[k] == ' ' || b[k] == '<') {
		k++
	}
	if !bytes.HasPrefix(b[k:min(len(b), k+8)], []byte("http")) {
		return nil
	}
	e := k
	for e < len(b) && e-k < 2048 {
		c := b[e]
		if c == ' ' || c == '"' || c == '\'' || c == ')' || c == '>' || c == '\n' || c == '\t' || c == '\r' {
			break
		}
		e++
	}
	return b[k:e]
}

// urlIn is u (a slice of b) in the lower-cased view low.
func urlIn(low, b, u []byte) []byte {
	off := cap(b) - cap(u)
	return low[off : off+len(u)]
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
	if !anyTrigger(t) {
		// No trigger of any rule, addressees included: an order to the
		// reader that names where data goes or what it is ("You must send
		// the API key to https://...") still is one.
		return reHiddenOrder.Match(t) && reDataOut.Match(t)
	}
	nt := append([]byte{'\n'}, t...)
	ix := newIndex(nt)
	if len(overrides(nt, ix)) > 0 || len(authorities(nt, ix)) > 0 || len(roles(nt, ix)) > 0 {
		return true
	}
	return reAddressee.Match(t) && reDirective.Match(t)
}

// comments finds the HTML comments in low, each at most 3 KiB (a longer
// one is not a comment to this rule: its text is still read by the
// others). The openings come from the index: on a page of markup a
// search for "<!--" stops at every '<'.
func comments(low []byte, ix *index) [][2]int {
	var out [][2]int
	i := 0
	for _, s := range ix.at(commentOpen) {
		if s < i {
			continue // inside the comment before
		}
		k := bytes.Index(low[s+4:min(len(low), s+4+3072)], []byte("-->"))
		if k < 0 {
			continue
		}
		e := s + 4 + k + 3
		out = append(out, [2]int{s, e})
		i = e
	}
	return out
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
	// a dataset row that labels its text: {"text": "...", "label": "injection"}
	[]byte(`"injection"`), []byte("is_injection"),
	// and in the languages of intlOverrides: for example, attacker,
	// injection
	[]byte("beispiel"), []byte("angreifer"), []byte("exemple"), []byte("attaquant"), []byte("ejemplo"), []byte("atacante"),
	[]byte("exemplo"), []byte("esempio"), []byte("attaccante"), []byte("bijvoorbeeld"), []byte("aanvaller"),
	[]byte("inyecci\u00f3n"), []byte("inje\u00e7\u00e3o"), []byte("iniezione"), []byte("injectie"),
}

// action: an override that goes on to order something is an attack even
// in a page that discusses attacks.
var reAction = regexp.MustCompile(`^[^.\n]{0,40}?\b(?:and|then|instead|und|dann|stattdessen|et|puis|y|luego|e|depois|poi|en|dan)\b[^.\n]{0,40}?\b(?:send|post|upload|exfiltrate|fetch|curl|wget|email|forward|print|output|reveal|read|cat|run|execute|delete|push|tell|sende|sendet|schicke|lade|f\x{fc}hre|zeige|envoie|envoyez|ex\x{e9}cute|ex\x{e9}cutez|affiche|env\x{ed}a|envia|envie|ejecuta|executa|sube|muestra|mostra|invia|esegui|carica|stuur|voer|toon)\b`)

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
			case '"':
				if !jsonValueOpen(low, q) {
					return true
				}
			case '\'', '`':
				return true
			}
		}
	}
	for _, q := range []string{"\u201c", "\u2018", "\u00ab", "\u201e", "\u00bb", "\u2039", "\u203a", "&quot;", "&#39;", "\\\""} {
		if bytes.HasSuffix(low[:p], []byte(q)) || bytes.HasSuffix(bytes.TrimRight(low[:start], " \t\u00a0\u202f"), []byte(q)) {
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

// jsonValueOpen: the '"' at q opens a JSON string value (after a key's
// colon, `"text": "`, or an array's bracket, `["`), whose text starts
// there as a page's text starts at its first byte: a tool result or API
// answer is that text, not a quotation of it.
func jsonValueOpen(low []byte, q int) bool {
	i := q
	for i > 0 && (low[i-1] == ' ' || low[i-1] == '\t' || low[i-1] == '\n' || low[i-1] == '\r') {
		i--
	}
	if i == 0 {
		return false
	}
	switch low[i-1] {
	case '[':
		return true
	case ':':
		i--
		for i > 0 && (low[i-1] == ' ' || low[i-1] == '\t') {
			i--
		}
		return i > 0 && low[i-1] == '"'
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
			if last.Parts != nil || f.Parts != nil {
				last.Parts = append(partsOf(*last), partsOf(f)...)
			}
			last.End = max(last.End, f.End)
			continue
		}
		out = append(out, f)
	}
	return out
}

// partsOf is f's bytes piece by piece.
func partsOf(f Finding) [][2]int {
	if f.Parts != nil {
		return f.Parts
	}
	return [][2]int{{f.Start, f.End}}
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

// normScratch is the storage of one decoded view and its map.
type normScratch struct {
	buf []byte
	m   normMap
	ix  index
}

var normBufs = sync.Pool{New: func() any { return new(normScratch) }}

// viewScratch is the storage of one lower-cased view and its index.
type viewScratch struct {
	low []byte
	ix  index
}

// lowBufs holds the buffers of Scan's lower-cased views.
var lowBufs = sync.Pool{New: func() any { return new(viewScratch) }}
