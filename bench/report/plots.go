package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// perChildPlot draws StopCost's wall or CPU time per child (unit: "ns/child",
// "cpu-ns/child") against N, both on log scales, one line per kind.
func perChildPlot(l *lookup, ns1 []int, unit, what, file string) error {
	p := plot.New()
	p.Title.Text = "Stopping a parent with N children: " + what + " per child (median)"
	p.X.Label.Text = "children (N)"
	p.Y.Label.Text = "per child"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	var xt []plot.Tick
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, n := range ns1 {
		if l.has(stopBench(n)) {
			xt = append(xt, plot.Tick{Value: float64(n), Label: childN(n)})
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(xt)
	p.Y.Tick.Marker = logTicks{}
	p.Add(plotter.NewGrid())
	for i, k := range kinds {
		var xys plotter.XYs
		for _, n := range ns1 {
			if l.has(stopBench(n)) {
				v := l.get(stopBench(n), k+"-"+unit)
				xys = append(xys, plotter.XY{X: float64(n), Y: v})
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		if k == "raw" || k == "handwritten" {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		line.Width = vg.Points(1.5)
		p.Add(line, points)
		p.Legend.Add(kindNames[k], line, points)
	}
	if len(xt) > 0 {
		p.X.Min, p.X.Max = xt[0].Value/1.6, xt[len(xt)-1].Value*1.6
	}
	// Room above the lines for the legend.
	p.Y.Min, p.Y.Max = lo/1.5, hi*6
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(4)
	return p.Save(7*vg.Inch, 4.5*vg.Inch, file)
}

// logTicks marks a log axis of nanoseconds at 1, 2 and 5 times each power of ten,
// labelled as durations, with unlabelled minor ticks between.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strings.ReplaceAll(strings.ReplaceAll(ns(v), ".00", ""), ".0", "")
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// kindsPlot draws each Quiesce kind's stop cost against raw and against the
// hand-written peer: the ratios taken within a round (medians), for each N that
// ran.
func kindsPlot(l *lookup, ns1 []int, file string) error {
	p := plot.New()
	p.Title.Text = "Each kind of stop against raw and the hand-written peer"
	p.Y.Label.Text = "× baseline (wall, median ratio)"
	groups := []string{"nosteps", "plain", "mixed"}
	p.NominalX("no steps", "3 plain steps", "3 steps, mixed")
	top := 1.0
	p.Add(plotter.NewGrid())
	var series []func(w vg.Length, off vg.Length, i int) (*plotter.BarChart, error)
	var names []string
	for _, n := range ns1 {
		if n < 10_000 || !l.has(stopBench(n)) {
			continue
		}
		for _, base := range []string{"raw", "handwritten"} {
			b := stopBench(n)
			vs := make(plotter.Values, len(groups))
			for j, g := range groups {
				vs[j] = l.get(b, g+"/"+base)
				top = max(top, vs[j])
			}
			names = append(names, fmt.Sprintf("vs %s, %s children", map[string]string{"raw": "raw", "handwritten": "hand-written"}[base], childN(n)))
			series = append(series, func(w, off vg.Length, i int) (*plotter.BarChart, error) {
				bars, err := plotter.NewBarChart(vs, w)
				if err != nil {
					return nil, err
				}
				bars.Offset = off
				bars.Color = plotutil.Color(i)
				bars.LineStyle.Width = 0
				return bars, nil
			})
		}
	}
	w := vg.Points(14)
	for i, mk := range series {
		bars, err := mk(w, w*vg.Length(float64(i)-float64(len(series)-1)/2), i)
		if err != nil {
			return err
		}
		p.Add(bars)
		p.Legend.Add(names[i], bars)
	}
	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Color = plotutil.Color(6)
	one.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(one)
	p.Legend.Add("1x", one)
	// Room above the bars for the legend.
	p.Y.Min, p.Y.Max = 0, top*1.6
	p.X.Min, p.X.Max = -0.6, float64(len(groups))-0.4
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(4)
	p.Legend.ThumbnailWidth = vg.Points(12)
	return p.Save(7*vg.Inch, 4.5*vg.Inch, file)
}

// plots writes the plots under dir.
func plots(l *lookup, ns1 []int, dir string) error {
	if err := perChildPlot(l, ns1, "ns/child", "wall time", filepath.Join(dir, "stop-per-child.svg")); err != nil {
		return err
	}
	if err := perChildPlot(l, ns1, "cpu-ns/child", "CPU time", filepath.Join(dir, "stop-per-child-cpu.svg")); err != nil {
		return err
	}
	return kindsPlot(l, ns1, filepath.Join(dir, "stop-kinds.svg"))
}
