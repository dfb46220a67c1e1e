package report

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
)

// TimelineChart is the timeline of a timing spec in spec seconds, from its
// first attempt: the windows in which the rule allows an attempt and the
// attempts the harness observed. SVG draws it.
type TimelineChart struct {
	// Title names the spec or its requirement.
	Title string
	// Expected says what the rule expects, e.g. "exactly 3 attempts ...".
	Expected string
	// Verdict is what the judgement said ("" while unknown), e.g. "3
	// attempts".
	Verdict string
	// Windows are where the rule allows an attempt (spec s from the first
	// attempt); outside them it allows none.
	Windows []ChartSpan
	// Attempts are the observed attempts, in arrival order.
	Attempts []ChartAttempt
	// End is when the harness stopped watching (spec s from the first
	// attempt).
	End float64
}

// ChartSpan is a span of spec time with a label.
type ChartSpan struct {
	From, To float64
	Label    string
}

// ChartAttempt is one observed attempt: when it started and, when it was
// answered, when (Answered < 0: never), its label ("#2 503"), and whether
// the rule allowed it where it came.
type ChartAttempt struct {
	At       float64
	Answered float64
	Label    string
	OK       bool
}

// Layout of the SVG, in pixels.
const (
	svgWidth   = 960
	svgLeft    = 70
	svgRight   = 30
	svgTop     = 92
	svgLane    = 26
	svgBottom  = 86
	plotLength = svgWidth - svgLeft - svgRight
)

// SVG renders the chart as a self-contained SVG document (no scripts, no
// external assets). The same chart always yields the same bytes.
func (c TimelineChart) SVG() []byte {
	span := c.End
	for _, w := range c.Windows {
		span = math.Max(span, w.To)
	}
	for _, a := range c.Attempts {
		span = math.Max(span, math.Max(a.At, a.Answered))
	}
	if span <= 0 {
		span = 1
	}
	step := niceStep(span / 8)
	span = math.Ceil(span*1.02/step) * step
	x := func(s float64) float64 { return svgLeft + s/span*plotLength }
	lanes := max(len(c.Attempts), 1)
	plotH := float64(lanes*svgLane + 10)
	height := svgTop + plotH + svgBottom
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	esc := html.EscapeString

	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%s" viewBox="0 0 %d %s" font-family="sans-serif" font-size="12">`+"\n", svgWidth, f(height), svgWidth, f(height))
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", svgLeft-60, esc(c.Title))
	p(`<text x="%d" y="40">Expected: %s</text>`+"\n", svgLeft-60, esc(c.Expected))
	if c.Verdict != "" {
		p(`<text x="%d" y="58" fill="#a40e26">Observed: %s</text>`+"\n", svgLeft-60, esc(c.Verdict))
	}
	top := float64(svgTop)
	bottom := top + plotH
	for i, w := range c.Windows {
		x0, x1 := x(w.From), x(w.To)
		p(`<rect x="%s" y="%s" width="%s" height="%s" fill="#dafbe1" stroke="#2da44e" stroke-dasharray="3,2"><title>%s</title></rect>`+"\n",
			f(x0), f(top), f(math.Max(x1-x0, 1)), f(plotH), esc(fmt.Sprintf("%s: %s s to %s s", w.Label, f2(w.From), f2(w.To))))
		p(`<text x="%s" y="%s" font-size="10" fill="#116329" text-anchor="middle">%s</text>`+"\n", f((x0+x1)/2), f(top-4-float64(i%2)*11), esc(w.Label))
	}
	// Axis and ticks.
	p(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#57606a"/>`+"\n", svgLeft, f(bottom), svgWidth-svgRight, f(bottom))
	decimals := max(0, int(-math.Floor(math.Log10(step))))
	for i := 0; float64(i)*step <= span+step/2; i++ {
		t := float64(i) * step
		p(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#d0d7de"/>`+"\n", f(x(t)), f(top), f(x(t)), f(bottom))
		p(`<text x="%s" y="%s" text-anchor="middle" fill="#57606a">%s</text>`+"\n", f(x(t)), f(bottom+16), strconv.FormatFloat(t, 'f', decimals, 64))
	}
	p(`<text x="%d" y="%s" text-anchor="middle" fill="#57606a">spec time (s) from the first attempt</text>`+"\n", svgLeft+plotLength/2, f(bottom+34))
	if c.End > 0 {
		p(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#57606a" stroke-dasharray="6,3"/>`+"\n", f(x(c.End)), f(top-2), f(x(c.End)), f(bottom))
		p(`<text x="%s" y="%s" font-size="10" text-anchor="end" fill="#57606a">watched until %s s</text>`+"\n", f(x(c.End)-3), f(bottom-4), f2(c.End))
	}
	if len(c.Attempts) == 0 {
		p(`<text x="%d" y="%s" fill="#a40e26">no attempt observed</text>`+"\n", svgLeft+8, f(top+18))
	}
	for i, a := range c.Attempts {
		y := top + 8 + float64(i)*svgLane
		color := "#1a7f37"
		if !a.OK {
			color = "#cf222e"
		}
		if a.Answered >= a.At {
			p(`<rect x="%s" y="%s" width="%s" height="10" fill="#8c959f"><title>answered at %s s</title></rect>`+"\n",
				f(x(a.At)), f(y+3), f(math.Max(x(a.Answered)-x(a.At), 1)), f2(a.Answered))
		}
		p(`<circle cx="%s" cy="%s" r="6" fill="%s"><title>%s at %s s</title></circle>`+"\n", f(x(a.At)), f(y+8), color, esc(a.Label), f2(a.At))
		// Labels of late attempts go left of the marker, so they stay in.
		if x(a.At) > svgLeft+plotLength*0.6 {
			p(`<text x="%s" y="%s" fill="%s" text-anchor="end">%s at %s s</text>`+"\n", f(x(a.At)-10), f(y+12), color, esc(a.Label), f2(a.At))
		} else {
			p(`<text x="%s" y="%s" fill="%s">%s at %s s</text>`+"\n", f(math.Max(x(a.At), x(a.Answered))+10), f(y+12), color, esc(a.Label), f2(a.At))
		}
	}
	ly := bottom + 54
	p(`<rect x="%d" y="%s" width="14" height="10" fill="#dafbe1" stroke="#2da44e" stroke-dasharray="3,2"/><text x="%d" y="%s">window where the rule allows an attempt (none allowed elsewhere)</text>`+"\n", svgLeft, f(ly-9), svgLeft+20, f(ly))
	ly += 18
	p(`<circle cx="%d" cy="%s" r="5" fill="#1a7f37"/><text x="%d" y="%s">attempt as allowed</text>`+"\n", svgLeft+7, f(ly-4), svgLeft+20, f(ly))
	p(`<circle cx="%d" cy="%s" r="5" fill="#cf222e"/><text x="%d" y="%s">attempt out of the rule</text>`+"\n", svgLeft+167, f(ly-4), svgLeft+180, f(ly))
	p(`<rect x="%d" y="%s" width="14" height="8" fill="#8c959f"/><text x="%d" y="%s">from the attempt until its answer</text>`+"\n", svgLeft+340, f(ly-8), svgLeft+360, f(ly))
	p("</svg>\n")
	return b.Bytes()
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
