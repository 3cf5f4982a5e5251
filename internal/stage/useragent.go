package stage

import (
	"regexp"
	"strings"
)

// clientFacts are what a User-Agent tells of the participant's client (Participant.browserName
// and friends). Values keep to the model's pattern [a-zA-Z0-9-_.,:;\s]*.
type clientFacts struct {
	browserName, browserVersion, osName, osVersion string
}

var (
	// Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
	browserRules = []struct {
		name string
		re   *regexp.Regexp
	}{
		{"Edge", regexp.MustCompile(`Edg(?:e|A|iOS)?/([\d.]+)`)},
		{"Opera", regexp.MustCompile(`OPR/([\d.]+)`)},
		{"Firefox", regexp.MustCompile(`Firefox/([\d.]+)`)},
		{"Chrome", regexp.MustCompile(`(?:Chrome|CriOS)/([\d.]+)`)},
		{"Safari", regexp.MustCompile(`Version/([\d.]+).*Safari/`)},
	}
	osRules = []struct {
		name string
		re   *regexp.Regexp
	}{
		{"Windows", regexp.MustCompile(`Windows NT ([\d.]+)`)},
		{"iOS", regexp.MustCompile(`(?:iPhone|iPad|iPod).*? OS ([\d_]+)`)},
		{"Mac OS", regexp.MustCompile(`Mac OS X ([\d_.]+)`)},
		{"Android", regexp.MustCompile(`Android ([\d.]+)`)},
		{"Linux", regexp.MustCompile(`(Linux)`)},
	}
)

func parseUserAgent(ua string) clientFacts {
	var f clientFacts
	for _, r := range browserRules {
		if m := r.re.FindStringSubmatch(ua); m != nil {
			f.browserName, f.browserVersion = r.name, m[1]
			break
		}
	}
	for _, r := range osRules {
		if m := r.re.FindStringSubmatch(ua); m != nil {
			f.osName = r.name
			if m[1] != "Linux" {
				f.osVersion = strings.ReplaceAll(m[1], "_", ".")
			}
			break
		}
	}
	return f
}
