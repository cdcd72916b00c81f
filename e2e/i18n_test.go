package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// catalog reads the client's message catalog of a locale, as the browser
// gets it.
func catalog(t *testing.T, locale string) map[string]string {
	t.Helper()
	path := filepath.Join("..", "web", "static", "i18n", locale+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the %s catalog: %v", locale, err)
	}
	var c map[string]string
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// loginScreenTexts are the catalog keys of texts on the login screen, and
// where the screen shows each.
var loginScreenTexts = []struct{ key, sel string }{
	{"auth.username", `label[for=login-username]`},
	{"auth.password", `label[for=login-password]`},
	{"auth.login", `[data-testid=login-submit]`},
	{"auth.toRegister", `[data-testid=to-register]`},
}

// TestLanguageSwitch opens Parley in a browser whose language is Simplified
// Chinese: the login screen speaks Chinese; one click on the language
// switch turns it to English.
func TestLanguageSwitch(t *testing.T) {
	h := newHarness(t)
	en, zh := catalog(t, "en"), catalog(t, "zh-CN")
	for _, x := range loginScreenTexts {
		if en[x.key] == "" || zh[x.key] == "" {
			t.Fatalf("catalog key %q: en %q, zh-CN %q; both must have it", x.key, en[x.key], zh[x.key])
		}
		if en[x.key] == zh[x.key] {
			t.Fatalf("catalog key %q reads %q in both languages, so it cannot tell them apart", x.key, en[x.key])
		}
	}

	// --lang sets the interface language, --accept-lang what navigator.languages
	// and the Accept-Language header say: a Chinese user's browser.
	browser := h.newBrowser("browser-zh", chromedp.Flag("lang", "zh-CN"), chromedp.Flag("accept-lang", "zh-CN"))
	p := h.newTab(browser, "visitor")
	p.open("/")
	p.check("the browser to prefer Chinese", `navigator.language === 'zh-CN' || 'navigator.language is ' + navigator.language`)

	expectLanguage := func(locale string, texts map[string]string) {
		t.Helper()
		p.check("<html lang="+locale+">", js(`return document.documentElement.lang === `+jsString(locale)+
			` ? true : 'lang is ' + JSON.stringify(document.documentElement.lang);`))
		for _, x := range loginScreenTexts {
			p.waitText(x.sel, texts[x.key])
		}
	}
	expectLanguage("zh-CN", zh)
	p.click(`[data-testid=lang-switch]`)
	expectLanguage("en", en)

	// The choice is remembered across a reload, although the browser still
	// prefers Chinese.
	p.reload()
	expectLanguage("en", en)
}
