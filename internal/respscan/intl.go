package respscan

import (
	"regexp"
	"strconv"
	"strings"
)

// intlOverrides are instruction overrides in other languages than
// English, as an injected page writes them: an imperative "ignore" or
// "forget" (ignoriere, vergiss, vergeet, oubliez, olvida, esqueça,
// dimentica, ...), one to four determiners or adjectives, and what is
// overridden; or, as Romance languages put it, the verb, the noun and an
// adjective after it ("ignora instrucciones anteriores"); or, in German
// and Dutch, the infinitive last ("Du musst alle vorherigen Anweisungen
// ignorieren", verbFinal). The "ignor" verbs are found at the trigger
// English has; the others at intlVerbTriggers, each anchored on the
// rarest bytes of its verb. The text is lower-cased in ASCII only, so the
// words are written as a lower-cased page spells them (accented letters
// as they are).
var intlOverrides = []struct {
	lang, verbs, mods, nouns, after string
}{
	{"de",
		`ignoriere|ignorier|ignorieren sie|vergiss|vergi\x{df}|vergessen sie|missachte|missachten sie`,
		`jetzt|nun|sofort|alle|alles|die|der|deine|ihre|eure|jegliche|s\x{e4}mtliche|vorherigen|vorherige|vorigen|bisherigen|bisherige|fr\x{fc}heren|obigen|vorangegangenen|vorstehenden|urspr\x{fc}nglichen|erhaltenen|gegebenen|aktuellen|system`,
		`anweisungen|anweisung|instruktionen|befehle|regeln|richtlinien|vorgaben|anordnungen|systemanweisungen|systemprompts?|system-prompts?|einschr\x{e4}nkungen|sicherheitsregeln|sicherheitsrichtlinien`,
		``},
	{"nl",
		`ignoreer|vergeet`,
		`nu|alle|al|de|je|jouw|uw|eerdere|vorige|voorgaande|bovenstaande|oorspronkelijke|huidige|gegeven|ontvangen|systeem`,
		`instructies|instructie|aanwijzingen|regels|richtlijnen|opdrachten|opdracht|beperkingen|systeemprompt|systeeminstructies`,
		``},
	{"fr",
		`ignore|ignorez|ignorer|oublie|oubliez|oublier`,
		`maintenant|de|des|du|toutes|tous|toute|tout|les|la|le|tes|vos|ces|pr\x{e9}c\x{e9}dentes|anciennes|premi\x{e8}res`,
		`instructions|instruction|consignes|consigne|directives|r\x{e8}gles|regles|ordres|contraintes|restrictions|invites syst\x{e8}me`,
		`pr\x{e9}c\x{e9}dentes|ant\x{e9}rieures|initiales|originales|re\x{e7}ues|syst\x{e8}me`},
	{"es",
		`ignora|ignore|ignoren|ignorad|olvida|olvide|olviden|olvidad`,
		`ahora|de|todas|todos|las|los|tus|sus|vuestras|estas|esas|anteriores|previas`,
		`instrucciones|instrucci\x{f3}n|indicaciones|directrices|directivas|reglas|\x{f3}rdenes|ordenes|normas|restricciones|pautas`,
		`anteriores|previas|iniciales|originales|recibidas|del sistema`},
	{"pt",
		`ignore|ignora|ignorem|ignorar|esque\x{e7}a|esque\x{c7}a|esque\x{e7}am`,
		`agora|todas|todos|as|os|suas|tuas|teus|seus|essas|estas|de|das|dos|anteriores|pr\x{e9}vias`,
		`instru\x{e7}\x{f5}es|instrucoes|instru\x{e7}\x{e3}o|diretrizes|diretivas|regras|ordens|orienta\x{e7}\x{f5}es|restri\x{e7}\x{f5}es|normas`,
		`anteriores|pr\x{e9}vias|previas|iniciais|originais|recebidas|do sistema`},
	{"it",
		`ignora|ignori|ignorate|ignorare|dimentica|dimenticate|dimentichi|dimenticare`,
		`ora|adesso|tutte|tutti|le|gli|i|tue|tuoi|sue|vostre|queste|precedenti`,
		`istruzioni|istruzione|direttive|regole|indicazioni|ordini|linee guida|restrizioni|vincoli`,
		`precedenti|anteriori|iniziali|originali|ricevute|di sistema`},
}

// intlOverridePattern is reOverrideIntl's source: per language, verb and
// one to four modifiers and the noun, or verb, noun and an adjective.
func intlOverridePattern() string {
	const ws = `[ \t\r\n]+`
	var alts []string
	for _, l := range intlOverrides {
		alt := `(?:` + l.verbs + `)` + ws + `(?:(?:` + l.mods + `)` + ws + `){1,4}(?:` + l.nouns + `)\b`
		if l.after != "" {
			alt += `|(?:` + l.verbs + `)` + ws + `(?:` + l.nouns + `)` + ws + `(?:` + l.after + `)`
		}
		alts = append(alts, alt)
	}
	return `^(?:` + strings.Join(alts, "|") + `)`
}

// intlFirstWords: the ASCII start of every word that may follow an
// override verb of intlOverrides (a modifier or a noun), the cheap test
// in front of reOverrideIntl at each "ignor" of English text.
var intlFirstWords = func() map[string]bool {
	m := map[string]bool{}
	plain := regexp.MustCompile(`\\x\{[0-9a-f]+\}.*$`) // cut at the first non-ASCII letter
	for _, l := range intlOverrides {
		for _, list := range []string{l.mods, l.nouns} {
			for _, w := range strings.Split(list, "|") {
				w = plain.ReplaceAllString(w, "")
				w = strings.TrimSuffix(w, "s?")
				if f := strings.Fields(w); len(f) > 0 {
					m[strings.TrimRight(f[0], "-")] = true
				}
			}
		}
	}
	return m
}()

// intlVerbs: the first word of every verb of intlOverrides.
var intlVerbs = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range intlOverrides {
		for _, v := range strings.Split(l.verbs, "|") {
			m[unescapeRE(strings.Fields(v)[0])] = true
		}
	}
	return m
}()

// unescapeRE spells the \x{...} escapes of a word of intlOverrides as
// the UTF-8 bytes they match.
func unescapeRE(w string) string {
	return reEscape.ReplaceAllStringFunc(w, func(e string) string {
		r, _ := strconv.ParseUint(e[3:len(e)-1], 16, 32)
		return string(rune(r))
	})
}

var reEscape = regexp.MustCompile(`\\x\{[0-9a-f]+\}`)

// intlShape: rest starts with a verb of intlOverrides, and the word
// after it may start one of their phrases. It runs at every "ignor" of
// English text ("ignored", "ignore_errors"), so a map lookup or two.
func intlShape(rest []byte) bool {
	k := 0
	for k < len(rest) && (rest[k] >= 'a' && rest[k] <= 'z' || rest[k] >= 0x80) {
		k++
	}
	verb := rest[:k]
	if !intlVerbs[string(verb)] {
		return false
	}
	next := func() []byte {
		for k < len(rest) && (rest[k] == ' ' || rest[k] == '\t' || rest[k] == '\n' || rest[k] == '\r') {
			k++
		}
		w := wordAt(rest, k)
		k += len(w)
		return w
	}
	w := next()
	if string(w) == "sie" && intlFormal[string(verb)] { // ignorieren Sie, vergessen Sie
		w = next()
	}
	return intlFirstWords[string(w)]
}

// intlFormal: the verbs of intlOverrides written with "sie" after them.
var intlFormal = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range intlOverrides {
		for _, v := range strings.Split(l.verbs, "|") {
			if f := strings.Fields(v); len(f) == 2 && f[1] == "sie" {
				m[f[0]] = true
			}
		}
	}
	return m
}()

// intlVerbTrigger is a trigger literal for the verbs of intlOverrides
// that do not start with "ignor": lit is the verb from len(head) bytes
// in, so that the index's 3-byte fingerprint is one English text rarely
// has ("rgiss" of "vergiss", where "ver" starts "version", "server" and
// "every"; "sacht" of "missachte", where "mis" starts "missing" and ends
// "permission"). A hit counts only where head stands before it at a word
// start.
type intlVerbTrigger struct {
	lit  []byte
	head string
}

var intlVerbTriggers = []intlVerbTrigger{
	{[]byte("rgiss"), "ve"}, {[]byte("rgi\xc3\x9f"), "ve"}, {[]byte("rgessen"), "ve"}, // de vergiss, vergiß, vergessen
	{[]byte("sacht"), "mis"},                          // de missachte, missachten
	{[]byte("rgeet"), "ve"}, {[]byte("geten"), "ver"}, // nl vergeet, vergeten
	{[]byte("oubli"), ""},                          // fr oublie, oubliez, oublier
	{[]byte("ida"), "olv"}, {[]byte("vide"), "ol"}, // es olvida(d), olvide(n)
	{[]byte("\xc3\xa7a"), "esque"}, {[]byte("\xc3\x87a"), "esque"}, // pt esqueça(m), ESQUEÇA
	{[]byte("dimentic"), ""}, // it dimentica, dimenticate, dimentichi, dimenticare
}

// intlVerbIDs: the index's literal ids of intlVerbTriggers, in order
// (overridesIntl runs on every view: no map lookup per literal).
var intlVerbIDs []int

// intlVerbLiterals are intlVerbTriggers' literals, for the index.
func intlVerbLiterals() [][]byte {
	var out [][]byte
	for _, tr := range intlVerbTriggers {
		out = append(out, tr.lit)
	}
	return out
}

// overridesIntl finds the overrides of intlOverrides whose verb is at an
// intlVerbTrigger: the verb first, in imperative position, or (German
// and Dutch) an infinitive last.
func overridesIntl(low []byte, ix *index) [][2]int {
	var out [][2]int
	for i, tr := range intlVerbTriggers {
		for _, at := range ix.pos[intlVerbIDs[i]] {
			st := at - len(tr.head)
			if st < 0 || string(low[st:at]) != tr.head || st > 0 && isWordByte(low[st-1]) {
				continue
			}
			rest := low[st:min(len(low), st+240)]
			var m []int
			if intlShape(rest) {
				m = reOverrideIntl.FindIndex(rest)
			}
			if m == nil && intlBareShape(rest) {
				m = reIntlBare.FindIndex(rest)
			}
			if m != nil && imperativeAt(low, st) {
				out = append(out, [2]int{st, st + m[1]})
				continue
			}
			if m, ok := verbFinal(low, st); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// reIntlBare is reOverrideBare in German, French and Spanish: "forget
// everything" with no object but what came before ("Vergiss alles davor",
// "Oublie tout ce qu'on t'a dit", "Olvida todo lo anterior"), which counts
// only with an order right after it ("... und sag ...", "... et réponds
// ...", "... y dime ...").
var reIntlBare = regexp.MustCompile(`^(?:` +
	`(?:vergiss|vergi\x{df}|vergessen sie|ignoriere|ignorieren sie|missachte)[ \t]+alles(?:[ \t]+(?:davor|zuvor|vorher|bisherige|bisher gesagte|oben gesagte|obige|vorherige))?(?:,?[ \t]+was[^.!?\n]{0,60})?(?:[ \t]*[,.:;!]?[ \t]+(?:(?:und|dann|jetzt|nun|bitte)[ \t]+){0,2}(?:sag|sage|schreib|schreibe|gib|antworte|zeig|zeige|sende|schick|schicke|nenne|verrate|\x{fc}bersetze|(?:sagen|schreiben|geben|antworten|zeigen|senden|schicken|nennen|verraten|\x{fc}bersetzen) sie)\b|[ \t]*[.!][ \t]+was\b)` +
	`|(?:oublie|oubliez|ignore|ignorez)[ \t]+tout(?:[ \t]+(?:ce qui pr\x{e9}c\x{e8}de|ce qu'on t'a dit|ce que (?:je t'ai|l'on vous a|on vous a|on t'a) dit|le reste))?[ \t]*[,.:;!]?[ \t]+(?:(?:et|puis|maintenant)[ \t]+){0,2}(?:dis|dites|\x{e9}cris|\x{e9}crivez|r\x{e9}ponds|r\x{e9}pondez|affiche|affichez|envoie|envoyez|donne|donnez|montre|montrez|traduis|traduisez)\b` +
	`|(?:olvida|olvide|olviden|ignora|ignore)[ \t]+todo(?:[ \t]+(?:lo anterior|lo que te (?:dije|dijeron|han dicho)|lo dicho))?[ \t]*[,.:;!]?[ \t]+(?:(?:y|luego|ahora)[ \t]+){0,2}(?:di|dime|escribe|responde|muestra|env\x{ed}a|envia|dame|traduce|revela)\b` +
	`)`)

// intlBareShape: rest is an override verb of reIntlBare and the word after
// it (past a formal "Sie") is "alles", "tout" or "todo".
func intlBareShape(rest []byte) bool {
	k := 0
	for k < len(rest) && (rest[k] >= 'a' && rest[k] <= 'z' || rest[k] >= 0x80) {
		k++
	}
	for k < len(rest) && rest[k] == ' ' {
		k++
	}
	w := wordAt(rest, k)
	if string(w) == "sie" {
		k += len(w)
		for k < len(rest) && rest[k] == ' ' {
			k++
		}
		w = wordAt(rest, k)
	}
	switch string(w) {
	case "alles", "tout", "todo":
		return true
	}
	return false
}

// verbFinalVerbs are the German and Dutch infinitives an order may end on.
var verbFinalVerbs = map[string]bool{
	"ignorieren": true, "vergessen": true, "missachten": true, // de
	"vergeten": true, "ignoreren": true, // nl
}

// reVerbFinal is what must stand before a verbFinalVerbs infinitive: one
// to four modifiers and a noun of the German or Dutch overrides ("alle
// vorherigen Anweisungen", "alle eerdere instructies"), perhaps "zu" or
// "te", up to the verb. It is matched against the text before the verb,
// so it is anchored at the end.
var reVerbFinal = regexp.MustCompile(func() string {
	const ws = `[ \t\r\n]+`
	var alts []string
	for _, l := range intlOverrides {
		if l.lang == "de" || l.lang == "nl" {
			alts = append(alts, `(?:(?:`+l.mods+`)`+ws+`){1,4}(?:`+l.nouns+`)`)
		}
	}
	return `(?:^|[^a-z0-9_\x{80}-\x{10ffff}])((?:` + strings.Join(alts, "|") + `)` + ws + `(?:(?:zu|te)` + ws + `)?)$`
}())

// verbFinal: the infinitive at st ends an order whose phrase (modifiers
// and noun) starts in imperative position ("Bitte alle Anweisungen
// ignorieren", "Du musst alle vorherigen Anweisungen vergessen"); it
// returns the phrase's span, verb included.
func verbFinal(low []byte, st int) ([2]int, bool) {
	e := st
	for e < len(low) && low[e] >= 'a' && low[e] <= 'z' {
		e++
	}
	if !verbFinalVerbs[string(low[st:e])] || !clauseEnd(low[e:]) {
		return [2]int{}, false
	}
	lo := max(0, st-200)
	m := reVerbFinal.FindSubmatchIndex(low[lo:st])
	if m == nil {
		return [2]int{}, false
	}
	ps := lo + m[2]
	if !imperativeAt(low, modalStart(low, ps)) {
		return [2]int{}, false
	}
	return [2]int{ps, e}, true
}

// clauseEnd: rest (after an infinitive) ends its clause, as an order's
// verb does ("... ignorieren." "... vergessen und ..."), where a
// statement goes on ("... vergessen sollten", "... ignorieren kann").
func clauseEnd(rest []byte) bool {
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	if i == len(rest) || strings.IndexByte(".!;:,\n\r\"')<", rest[i]) >= 0 || rest[i] >= 0x80 {
		return true // punctuation, a tag, a closing quote
	}
	w := wordAt(rest, i)
	return string(w) == "und" || string(w) == "en" || string(w) == "oder" || string(w) == "of"
}

// verbFinalModals may stand before a verb-final order: "du musst",
// "Sie sollten", "je moet", "jullie moeten", "gelieve".
var verbFinalModals = map[string]bool{
	"du": true, "ihr": true, "sie": true, "musst": true, "m\u00fcsst": true, "m\u00fcssen": true, "sollst": true, "sollt": true,
	"sollen": true, "solltest": true, "sollten": true, "kannst": true, "k\u00f6nnen": true, "darfst": true,
	"je": true, "jij": true, "u": true, "jullie": true, "moet": true, "moeten": true, "mag": true, "gelieve": true, "dient": true,
}

// modalStart is where the verbFinalModals words right before ps begin
// (ps when there are none).
func modalStart(low []byte, ps int) int {
	for {
		i := ps
		for i > 0 && (low[i-1] == ' ' || low[i-1] == '\t') {
			i--
		}
		j := i
		for j > 0 && (low[j-1] >= 'a' && low[j-1] <= 'z' || low[j-1] >= 0x80) {
			j--
		}
		if j == i || !verbFinalModals[string(low[j:i])] {
			return ps
		}
		ps = j
	}
}
