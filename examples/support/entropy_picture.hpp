#pragma once
// Pictures of how uncertain a generation loop is about its future slots, step after step: terminal sparklines and an
// SVG (a heat map over token positions and the "hockey stick" curves). Standard library only, so any example can use
// it. Non-ASCII characters are written as UTF-8 byte escapes so the source means the same under any compiler charset.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wfc_examples {

struct entropy_frame {
  long long first_position = 0;  // absolute token position of slot 0 at this step (grows as tokens are emitted)
  std::vector<double> bits;      // entropy of slot i (bits), slot i stands for the token at first_position + i
  std::vector<bool> pinned;      // same size as bits (may be empty = none pinned): slot collapsed and held fixed
  std::string emitted;           // UTF-8 text emitted after this step (may be empty)
  long long solver_steps = 0;    // solver iterations this step used
};

namespace entropy_detail {

inline bool pinned(const entropy_frame& f, std::size_t i) { return i < f.pinned.size() && f.pinned[i]; }

// Checks the frames, and returns the scale: max_bits when usable, else the largest finite entropy seen (1 when none),
// so that a bad scale still draws something.
inline double checked_scale(const std::vector<entropy_frame>& frames, double max_bits) {
  double m = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (!frames[i].pinned.empty() && frames[i].pinned.size() != frames[i].bits.size())
      throw std::invalid_argument("entropy frame " + std::to_string(i) + ": " + std::to_string(frames[i].pinned.size()) +
                                  " pinned flags for " + std::to_string(frames[i].bits.size()) + " slots");
    for (double b : frames[i].bits) m = std::isfinite(b) ? std::max(m, b) : m;
  }
  return max_bits > 0 && std::isfinite(max_bits) ? max_bits : m > 0 ? m : 1;
}

// At most m evenly spaced indices of 0..n-1, the last always among them (all of them when n <= m).
inline std::vector<std::size_t> pick(std::size_t n, std::size_t m) {
  if (n > 0 && m <= 1) return {n - 1};
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < std::min(n, m); ++k) out.push_back(n <= m ? k : k * (n - 1) / (m - 1));
  return out;
}

// Valid UTF-8 that can neither drive a terminal nor break XML: malformed bytes become U+FFFD and control characters
// visible symbols (newline ⏎, tab ⇥, the U+2400 control pictures otherwise).
inline std::string visible(const std::string& s) {
  static const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};  // below these, an overlong (invalid) encoding
  std::string out;
  for (std::size_t i = 0, len = 1; i < s.size(); i += len) {
    const auto c = static_cast<unsigned char>(s[i]);
    len = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 0;
    std::uint32_t cp = len > 1 ? c & (0xffu >> (len + 1)) : c;  // the lead byte's share of the code point
    bool ok = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
      cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3fu);
    }
    ok = ok && cp >= least[len] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    if (!ok) len = 1;  // resynchronise at the next byte
    if (!ok || (cp >= 0x80 && cp < 0xa0)) out += "\xEF\xBF\xBD";  // U+FFFD, for C1 controls too: some terminals obey them
    else if (c == '\n') out += "\xE2\x8F\x8E";                    // ⏎
    else if (c == '\t') out += "\xE2\x87\xA5";                    // ⇥
    else if (c < 0x20) out += {'\xE2', '\x90', char(0x80 + c)};  // ␀ .. ␟
    else if (c == 0x7f) out += "\xE2\x90\xA1";                    // ␡
    else out.append(s, i, len);
  }
  return out;
}

inline std::string xml(const std::string& s) {
  static const char* const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};  // of "&<>\"'", in that order
  std::string out;
  for (char c : visible(s)) {
    const std::size_t k = std::string_view("&<>\"'").find(c);
    out += k == std::string_view::npos ? std::string_view(&c, 1) : std::string_view(entities[k]);
  }
  return out;
}

inline std::string bar(double v, double max) {
  if (std::isnan(v)) return "?";
  const double r = max > 0 ? v / max : 0, level = r >= 1 ? 1 : r > 0 ? r : 0;  // clamped; inf/inf (NaN) -> lowest
  return {'\xE2', '\x96', char(0x81 + std::min(7, int(level * 8)))};       // ▁ (U+2581) .. █ (U+2588), equal bins
}

// "#rrggbb" at t in [0, 1] along evenly spaced colour stops.
inline std::string blend(double t, const std::vector<std::vector<double>>& stops) {
  const double x = (t >= 1 ? 1 : t > 0 ? t : 0) * double(stops.size() - 1);
  const std::size_t k = std::min(std::size_t(x), stops.size() - 2);
  auto mix = [&](std::size_t j) { return int(std::lround(stops[k][j] + (stops[k + 1][j] - stops[k][j]) * (x - double(k)))); };
  char out[16];
  std::snprintf(out, sizeof out, "#%02x%02x%02x", mix(0), mix(1), mix(2));
  return out;
}

// Viridis through five of its stops: perceptually even, readable in grey and by most colour-blind readers.
inline std::string ramp(double t) {
  static const std::vector<std::vector<double>> viridis = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  return blend(t, viridis);
}

inline std::string number(double v) {  // '.' decimals whatever the global locale
  std::ostringstream o;
  o.imbue(std::locale::classic());
  o << std::setprecision(3) << v;
  return o.str();
}

}  // namespace entropy_detail

// One line of Unicode block characters ▁▂▃▄▅▆▇█ for values in [0, max] (clamped; NaN -> '?'; max <= 0 -> all lowest).
inline std::string sparkline(const std::vector<double>& values, double max) {
  std::string out;
  for (double v : values) out += entropy_detail::bar(v, max);
  return out;
}

// One line per frame, for the first max_lines frames (consecutive, so the wave can be followed):
// its slots' sparkline shifted right by how far it has moved since the first frame, pinned slots
// as '•', then the text it emitted. A max_bits that is not positive and finite becomes the largest seen.
inline std::string entropy_sparklines(const std::vector<entropy_frame>& frames, double max_bits, std::size_t max_lines = 40) {
  const double max = entropy_detail::checked_scale(frames, max_bits);
  std::string out;
  for (std::size_t k = 0; k < frames.size() && k < max_lines; ++k) {
    const entropy_frame& f = frames[k];
    out.append(std::size_t(std::max(0LL, f.first_position - frames.front().first_position)), ' ');
    for (std::size_t i = 0; i < f.bits.size(); ++i)
      out += entropy_detail::pinned(f, i) ? std::string("\xE2\x80\xA2") : entropy_detail::bar(f.bits[i], max);
    out += "  " + entropy_detail::visible(f.emitted) + "\n";
  }
  if (frames.size() > max_lines) out += "… " + std::to_string(frames.size() - max_lines) + " more solves\n";
  return out;
}

// A self-contained SVG: a heat map (token position across, step downwards, colour = entropy, pinned cells outlined)
// over the entropy-against-slot-offset curves of up to 8 sampled steps. Any run fits in about 1400 x 1100 px.
inline std::string entropy_svg(const std::vector<entropy_frame>& frames, double max_bits, const std::string& title) {
  namespace d = entropy_detail;
  const double max = d::checked_scale(frames, max_bits);
  const std::size_t n = frames.size();
  long long lo = n ? frames.front().first_position : 0, hi = lo + 1;  // [lo, hi): the positions any frame covers
  std::size_t slots = 1;
  for (const auto& f : frames) {
    lo = std::min(lo, f.first_position);
    hi = std::max(hi, f.first_position + static_cast<long long>(f.bits.size()));
    slots = std::max(slots, f.bits.size());
  }
  // Cells of at most 16 x 12 px, shrunk so long runs fit in 1200 x 640 px, stretched so short ones fill 480 x 120 px.
  const double p = double(hi - lo), m = double(n ? n : 1), left = 70, top = 60;
  const double cw = std::max(std::min(16.0, 1200 / p), 480 / p), ch = std::max(std::min(12.0, 640 / m), 120 / m);
  const double heat_w = cw * p, heat_h = ch * double(n), chart_top = top + heat_h + 80, chart_w = std::max(heat_w, 480.0);
  const double chart_h = 260, width = n ? left + std::max(heat_w + 110, chart_w + 130) : 480;
  const double height = n ? chart_top + chart_h + 60 : 120;

  std::ostringstream o;
  o.imbue(std::locale::classic());
  auto text = [&](double x, double y, const std::string& s, const char* anchor = "start", int size = 12, const char* more = "") {
    o << "<text x=\"" << x << "\" y=\"" << y << "\" font-size=\"" << size << "\" text-anchor=\"" << anchor << '"' << more
      << '>' << d::xml(s) << "</text>\n";
  };
  auto line = [&](double x1, double y1, double x2, double y2, const std::string& style) {
    o << "<line x1=\"" << x1 << "\" y1=\"" << y1 << "\" x2=\"" << x2 << "\" y2=\"" << y2 << "\" " << style << "/>\n";
  };
  auto rect = [&](double x, double y, double w, double h, const std::string& style) {
    o << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << w << "\" height=\"" << h << "\" " << style << "/>\n";
  };
  auto tick = [&](double x, double y, bool on_x, const std::string& s) {
    line(x, y, on_x ? x : x - 5, on_x ? y + 5 : y, "stroke=\"#444\"");
    on_x ? text(x, y + 18, s, "middle") : text(x - 8, y + 4, s, "end");
  };
  auto panel = [&](double y, double w, double h, const char* heading, const char* x_title, const char* y_title) {
    text(left, y - 12, heading, "start", 13);
    rect(left, y, w, h, "fill=\"none\" stroke=\"#888\"");
    text(left + w / 2, y + h + 36, x_title, "middle", 13);
    text(-(y + h / 2), left - 45, y_title, "middle", 13, " transform=\"rotate(-90)\"");  // which maps (-y, x) to (x, y)
  };
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
    << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << ' ' << height << "\" font-family=\"sans-serif\">\n<title>"
    << d::xml(title) << "</title>\n";
  rect(0, 0, width, height, "fill=\"white\"");
  text(left, 30, title, "start", 18, " font-weight=\"bold\"");
  if (!n) {
    text(left, 70, "no steps", "start", 14);
    return o.str() + "</svg>\n";
  }

  // Heat map. Past 640 steps a row would be under a pixel, so sampled rows stretch down to the next one shown.
  const auto rows = d::pick(n, 640);
  const double sw = std::clamp(std::min(cw, ch) / 6, 0.3, 2.0);  // pinned outlines, inset so neighbours cannot cover them
  o << "<g shape-rendering=\"crispEdges\">\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const entropy_frame& f = frames[rows[r]];
    const double y = top + double(rows[r]) * ch, h = double((r + 1 < rows.size() ? rows[r + 1] : n) - rows[r]) * ch;
    for (std::size_t i = 0; i < f.bits.size(); ++i) {
      const double x = left + double(f.first_position - lo + static_cast<long long>(i)) * cw;
      rect(x, y, cw, h, "fill=\"" + (std::isnan(f.bits[i]) ? std::string("#999999") : d::ramp(f.bits[i] / max)) + '"');
      if (d::pinned(f, i))
        rect(x + sw / 2, y + sw / 2, std::max(cw - sw, 0.0), std::max(h - sw, 0.0),
             "fill=\"none\" stroke=\"#ff2d55\" stroke-width=\"" + d::number(sw) + '"');
    }
  }
  o << "</g>\n";
  panel(top, heat_w, heat_h, "entropy of each future slot: token position across, step (time) downwards", "token position",
        "step");
  for (std::size_t k : d::pick(std::size_t(hi - lo), 6))
    tick(left + (double(k) + 0.5) * cw, top + heat_h, true, std::to_string(lo + static_cast<long long>(k)));
  for (std::size_t s : d::pick(n, 5)) tick(left, top + (double(s) + 0.5) * ch, false, std::to_string(s));
  const double bx = left + heat_w + 20;  // the colour bar, bright (max_bits) at the top
  o << "<defs><linearGradient id=\"entropy-ramp\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int k = 0; k <= 4; ++k) o << "<stop offset=\"" << k / 4.0 << "\" stop-color=\"" << d::ramp(k / 4.0) << "\"/>";
  o << "</linearGradient></defs>\n";
  rect(bx, top, 16, heat_h, "fill=\"url(#entropy-ramp)\" stroke=\"#888\"");
  text(bx + 20, top + 10, d::number(max) + " bits");
  text(bx + 20, top + heat_h, "0 bits");

  // The hockey sticks: entropy against slot offset, light (early) to dark (late); dots mark pinned slots.
  auto x_of = [&](std::size_t i) { return left + (slots > 1 ? chart_w * double(i) / double(slots - 1) : chart_w / 2); };
  auto y_of = [&](double v) { return chart_top + chart_h * (1 - std::clamp(v / max, 0.0, 1.0)); };
  for (int k = 0; k <= 4; ++k) {
    line(left, y_of(max * k / 4), left + chart_w, y_of(max * k / 4), "stroke=\"#e4e4e4\"");
    tick(left, y_of(max * k / 4), false, d::number(max * k / 4));
  }
  for (std::size_t i : d::pick(slots, 9)) tick(x_of(i), chart_top + chart_h, true, std::to_string(i));
  panel(chart_top, chart_w, chart_h, "entropy against slot offset, for sampled steps", "slot offset (0 = next token)",
        "entropy (bits)");
  const auto shown = d::pick(n, 8);
  for (std::size_t j = 0; j < shown.size(); ++j) {
    const double t = shown.size() > 1 ? double(j) / double(shown.size() - 1) : 1;
    const std::string colour = d::blend(t, {{198, 219, 239}, {8, 48, 107}});
    const entropy_frame& f = frames[shown[j]];
    // NaN slots break the curve. Each piece starts with a zero-length segment, which round caps draw as a dot when alone.
    o << "<path fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" stroke-linecap=\"round\" d=\"";
    for (std::size_t i = 0; i < f.bits.size(); ++i) {
      if (std::isnan(f.bits[i])) continue;
      if (i == 0 || std::isnan(f.bits[i - 1])) o << " M" << x_of(i) << ' ' << y_of(f.bits[i]);
      o << " L" << x_of(i) << ' ' << y_of(f.bits[i]);
    }
    o << "\"/>\n";
    for (std::size_t i = 0; i < f.bits.size(); ++i)
      if (d::pinned(f, i) && !std::isnan(f.bits[i]))
        o << "<circle cx=\"" << x_of(i) << "\" cy=\"" << y_of(f.bits[i]) << "\" r=\"3\" fill=\"" << colour << "\"/>\n";
    const double lx = left + chart_w + 20, ly = chart_top + 10 + 18 * double(j);
    line(lx, ly, lx + 24, ly, "stroke=\"" + colour + "\" stroke-width=\"3\"");
    text(lx + 30, ly + 4, "step " + std::to_string(shown[j]));
  }
  return o.str() + "</svg>\n";
}

// Writes text to a file; throws std::runtime_error naming the path if it cannot be written.
inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (out) out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace wfc_examples
