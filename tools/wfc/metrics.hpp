#pragma once
// Training metrics, one record per iteration, as CSV (path ending .csv) or JSON lines (.jsonl).
// A resumed run appends to the same file, so the file holds the whole run.
#include <wfc/wfc.hpp>

#include <cstdio>
#include <fstream>
#include <string>

namespace wfc_cli {

class metrics_file {
 public:
  metrics_file() = default;
  metrics_file(const std::string& path, bool append) {
    if (path.empty()) return;
    const auto ends_with = [&](const std::string& s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
    if (ends_with(".csv")) csv_ = true;
    else if (!ends_with(".jsonl") && !ends_with(".json"))
      throw wfc::config_error("--metrics must name a .csv or a .jsonl file, got '" + path + "'");
    std::ifstream existing(path);
    const bool has_lines = append && existing && existing.peek() != std::ifstream::traits_type::eof();
    out_.open(path, append ? std::ios::app : std::ios::trunc);
    if (!out_) throw wfc::io_error("cannot open '" + path + "' for writing the metrics");
    if (csv_ && !has_lines) out_ << "iteration,loss,lr,grad_norm,ms,tokens_per_s,elapsed_s,train_loss,val_loss\n";
  }

  void write(const wfc::training_record& r) {
    if (!out_.is_open()) return;
    const auto num = [](double v) {
      char s[32];
      std::snprintf(s, sizeof s, "%.9g", v);
      return std::string(s);
    };
    if (csv_) {
      out_ << r.iteration << ',' << num(r.loss) << ',' << num(r.lr) << ',' << num(r.grad_norm) << ',' << num(r.ms) << ','
           << num(r.tokens_per_s) << ',' << num(r.elapsed_s) << ',' << (r.evaluated ? num(r.train_loss) : "") << ','
           << (r.evaluated ? num(r.val_loss) : "") << '\n';
    } else {
      nlohmann::json j = {{"iteration", r.iteration}, {"loss", r.loss},     {"lr", r.lr},
                          {"grad_norm", r.grad_norm}, {"ms", r.ms},         {"tokens_per_s", r.tokens_per_s},
                          {"elapsed_s", r.elapsed_s}};
      if (r.evaluated) j["train_loss"] = r.train_loss, j["val_loss"] = r.val_loss;
      out_ << j.dump() << '\n';
    }
    out_.flush();
  }

 private:
  std::ofstream out_;
  bool csv_ = false;
};

}  // namespace wfc_cli
