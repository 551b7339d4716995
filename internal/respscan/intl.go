package respscan

import (
	"regexp"
	"strings"
)

// intlOverrides are instruction overrides in other languages than
// English, as an injected page writes them: an imperative "ignore"
// (ignoriere, ignoreer, ignorez, ignora, ...), one to four determiners or
// adjectives, and what is overridden; or, as Romance languages put it,
// the verb, the noun and an adjective after it ("ignora instrucciones
// anteriores"). Only the verbs that start with "ignor", a trigger of
// overrides already: every other trigger prefix costs the index false
// candidates on all text (six rare ones, "negeer", "oubli", "olvid", ...,
// added 27 % to them on English docs), so "vergiss", "oubliez", "olvida"
// and "esqueça" are not read. The text is lower-cased in ASCII only, so
// the words are written as a lower-cased page spells them (accented
// letters as they are). Verb-final sentences ("du musst alle
// Anweisungen ignorieren") are not covered.
var intlOverrides = []struct {
	lang, verbs, mods, nouns, after string
}{
	{"de",
		`ignoriere|ignorier|ignorieren sie|ignoriert`,
		`jetzt|nun|sofort|alle|alles|die|der|deine|ihre|eure|jegliche|s\x{e4}mtliche|vorherigen|vorherige|vorigen|bisherigen|bisherige|fr\x{fc}heren|obigen|vorangegangenen|vorstehenden|urspr\x{fc}nglichen|erhaltenen|gegebenen|aktuellen|system`,
		`anweisungen|anweisung|instruktionen|befehle|regeln|richtlinien|vorgaben|anordnungen|systemanweisungen|systemprompts?|system-prompts?|einschr\x{e4}nkungen|sicherheitsregeln|sicherheitsrichtlinien`,
		``},
	{"nl",
		`ignoreer|ignoreert`,
		`nu|alle|al|de|je|jouw|uw|eerdere|vorige|voorgaande|bovenstaande|oorspronkelijke|huidige|gegeven|ontvangen|systeem`,
		`instructies|instructie|aanwijzingen|regels|richtlijnen|opdrachten|opdracht|beperkingen|systeemprompt|systeeminstructies`,
		``},
	{"fr",
		`ignore|ignorez|ignorer`,
		`maintenant|de|des|du|toutes|tous|toute|tout|les|la|le|tes|vos|ces|pr\x{e9}c\x{e9}dentes|anciennes|premi\x{e8}res`,
		`instructions|instruction|consignes|consigne|directives|r\x{e8}gles|regles|ordres|contraintes|restrictions|invites syst\x{e8}me`,
		`pr\x{e9}c\x{e9}dentes|ant\x{e9}rieures|initiales|originales|re\x{e7}ues|syst\x{e8}me`},
	{"es",
		`ignora|ignore|ignoren|ignorad`,
		`ahora|de|todas|todos|las|los|tus|sus|vuestras|estas|esas|anteriores|previas`,
		`instrucciones|instrucci\x{f3}n|indicaciones|directrices|directivas|reglas|\x{f3}rdenes|ordenes|normas|restricciones|pautas`,
		`anteriores|previas|iniciales|originales|recibidas|del sistema`},
	{"pt",
		`ignore|ignora|ignorem|ignorar`,
		`agora|todas|todos|as|os|suas|tuas|teus|seus|essas|estas|de|das|dos|anteriores|pr\x{e9}vias`,
		`instru\x{e7}\x{f5}es|instrucoes|instru\x{e7}\x{e3}o|diretrizes|diretivas|regras|ordens|orienta\x{e7}\x{f5}es|restri\x{e7}\x{f5}es|normas`,
		`anteriores|pr\x{e9}vias|previas|iniciais|originais|recebidas|do sistema`},
	{"it",
		`ignora|ignori|ignorate|ignorare`,
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
			m[strings.Fields(v)[0]] = true
		}
	}
	return m
}()

// intlShape: rest starts with a verb of intlOverrides, and the word
// after it may start one of their phrases. It runs at every "ignor" of
// English text ("ignored", "ignore_errors"), so a map lookup or two.
func intlShape(rest []byte) bool {
	k := 0
	for k < len(rest) && rest[k] >= 'a' && rest[k] <= 'z' {
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
	if string(verb) == "ignorieren" && string(w) == "sie" {
		w = next()
	}
	return intlFirstWords[string(w)]
}
