#pragma once
// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N
// bytes of JSON mapping each tensor name to {dtype, shape, data_offsets: [begin, end)} (offsets
// into the data that follows) plus an optional "__metadata__" object of strings, then the data.
// Readers elsewhere (Python's safetensors, numpy in a dozen lines) open these files as they are.
//
// `archive` parses and checks a whole file before anything uses it: the length against the file's
// size, the JSON, every dtype, shape and offset; the tensors must tile the data exactly (no
// overlap, no hole, nothing after), as the format requires. Every violation is an io_error that
// names the file and the tensor. `builder` writes one, atomically.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "wfc/core/error.hpp"
#include "wfc/io/atomic_file.hpp"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wfc/io/safetensors.hpp reads and writes little-endian data in place: a big-endian host needs byte swaps"
#endif

namespace wfc::safetensors {

// The element types wfc writes and reads (the format has more; those are refused by name).
enum class dtype { f64, f32, i64, i32, u8 };

inline const char* name_of(dtype t) {
  switch (t) {
    case dtype::f64: return "F64";
    case dtype::f32: return "F32";
    case dtype::i64: return "I64";
    case dtype::i32: return "I32";
    case dtype::u8: return "U8";
  }
  return "?";
}

inline std::size_t size_of(dtype t) {
  switch (t) {
    case dtype::f64:
    case dtype::i64: return 8;
    case dtype::f32:
    case dtype::i32: return 4;
    case dtype::u8: return 1;
  }
  return 0;
}

template <class T>
constexpr dtype dtype_of() {
  if constexpr (std::is_same_v<T, double>) return dtype::f64;
  else if constexpr (std::is_same_v<T, float>) return dtype::f32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return dtype::i64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return dtype::i32;
  else {
    static_assert(std::is_same_v<T, std::uint8_t>, "safetensors: element types are double, float, int64, int32 and uint8");
    return dtype::u8;
  }
}

struct tensor_entry {
  std::string name;
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets into the data section

  std::uint64_t elements() const {
    std::uint64_t n = 1;
    for (auto e : shape) n *= std::uint64_t(e);
    return n;
  }
};

// The format's own limit on the header (a larger one is a corrupt length, not a real header).
inline constexpr std::uint64_t max_header_bytes = 100'000'000;

// The deepest nesting of JSON the readers accept. wfc's own files nest three levels; a deeper one
// is corrupt or hostile, and nlohmann's dump() and comparisons recurse once per level (a header of
// [[[[…]]]] would overflow the stack while an error message is being written).
inline constexpr int max_json_depth = 64;

// Parses JSON text, refusing nesting deeper than max_json_depth with an io_error naming `what`;
// malformed text throws nlohmann::json::parse_error, for the caller to word.
template <class Iterator>
nlohmann::json parse_json(Iterator first, Iterator last, const std::string& what) {
  return nlohmann::json::parse(first, last, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > max_json_depth) throw io_error(what + " nests deeper than " + std::to_string(max_json_depth) + " levels");
    return true;
  });
}

class archive {
 public:
  // Reads and checks the file at `path`.
  static archive load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error("cannot open '" + path + "' for reading");
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (in.bad()) throw io_error("error while reading '" + path + "'");
    return parse(bytes.str(), path);
  }

  // Reads and checks the header of the file at `path` alone (its metadata, names, shapes and
  // offsets), not the data: for a quick look at a large file. values() refuses on such an archive.
  static archive load_header(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw io_error("cannot open '" + path + "' for reading");
    const auto file_size = std::uint64_t(in.tellg());
    in.seekg(0);
    archive a;
    a.source_ = path;
    a.header_only_ = true;
    if (file_size < 8) a.fail(too_short(file_size));
    char first[8] = {};
    in.read(first, 8);
    const std::uint64_t header_bytes = little_endian_u64(std::string_view(first, 8));
    a.check_header_length(header_bytes, file_size);
    std::string header(std::size_t(header_bytes), '\0');
    in.read(header.data(), std::streamsize(header_bytes));
    if (!in) throw io_error("error while reading '" + path + "'");
    a.data_size_ = file_size - 8 - header_bytes;
    a.parse_header(header);
    return a;
  }

  // Checks `bytes`, a whole file; `source` names it in messages.
  static archive parse(std::string bytes, const std::string& source) {
    archive a;
    a.source_ = source;
    a.parse_into(std::move(bytes));
    return a;
  }

  const std::string& source() const { return source_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<tensor_entry>& tensors() const { return tensors_; }  // in the order of their data

  bool has_metadata(const std::string& key) const { return metadata_.count(key) != 0; }
  const std::string& metadata(const std::string& key) const {
    const auto it = metadata_.find(key);
    if (it == metadata_.end()) throw io_error(source_ + ": the metadata has no \"" + key + "\" entry");
    return it->second;
  }

  const tensor_entry* find(const std::string& name) const {
    for (const auto& t : tensors_)
      if (t.name == name) return &t;
    return nullptr;
  }
  const tensor_entry& at(const std::string& name) const {
    if (const auto* t = find(name)) return *t;
    throw io_error(source_ + ": no tensor named '" + name + "'");
  }

  // The values of tensor `name`, whose dtype must be T's.
  template <class T>
  std::vector<T> values(const std::string& name) const {
    const tensor_entry& t = at(name);
    if (t.type != dtype_of<T>())
      throw io_error(source_ + ": tensor '" + name + "' holds " + name_of(t.type) + ", expected " + name_of(dtype_of<T>()));
    if (header_only_) fail("its header alone was read (archive::load_header); load the whole file to read tensor '" + name + "'");
    std::vector<T> out(std::size_t(t.elements()));
    if (!out.empty()) std::memcpy(out.data(), data_.data() + t.begin, out.size() * sizeof(T));
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw io_error(source_ + ": " + what); }

  // A file starts with the 8-byte header length, and the header fits in the bytes that follow.
  static std::uint64_t little_endian_u64(std::string_view eight) {
    std::uint64_t v = 0;
    for (std::size_t i = 8; i-- > 0;) v = v << 8 | std::uint64_t(static_cast<unsigned char>(eight[i]));
    return v;
  }
  static std::string too_short(std::uint64_t file_size) {
    return "the file is " + std::to_string(file_size) + " bytes long, too short for safetensors (it starts with an 8-byte header length)";
  }
  void check_header_length(std::uint64_t header_bytes, std::uint64_t file_size) const {
    const std::uint64_t rest = file_size - 8;
    if (header_bytes > max_header_bytes || header_bytes > rest)
      fail("the header length says " + std::to_string(header_bytes) + " bytes but " + std::to_string(rest) +
           " follow: the file is truncated or not safetensors");
  }

  void parse_into(std::string bytes) {
    if (bytes.size() < 8) fail(too_short(bytes.size()));
    const std::uint64_t header_bytes = little_endian_u64(std::string_view(bytes).substr(0, 8));
    check_header_length(header_bytes, bytes.size());
    data_ = bytes.substr(8 + std::size_t(header_bytes));
    data_size_ = data_.size();
    parse_header(std::string_view(bytes).substr(8, std::size_t(header_bytes)));
  }

  void parse_header(std::string_view text) {
    nlohmann::json header;
    try {
      header = parse_json(text.begin(), text.end(), source_ + ": the header");
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("the header is not valid JSON (") + e.what() + ")");
    }
    if (!header.is_object()) fail("the header must be a JSON object, not " + std::string(header.type_name()));
    for (const auto& [key, value] : header.items()) {
      if (key == "__metadata__") {
        read_metadata(value);
        continue;
      }
      tensors_.push_back(read_entry(key, value));
    }
    check_tiling();
  }

  void read_metadata(const nlohmann::json& value) {
    if (!value.is_object()) fail("\"__metadata__\" must be an object of strings");
    for (const auto& [k, v] : value.items()) {
      if (!v.is_string()) fail("metadata entry \"" + k + "\" must be a string, not " + std::string(v.type_name()));
      metadata_[k] = v.get<std::string>();
    }
  }

  tensor_entry read_entry(const std::string& name, const nlohmann::json& value) const {
    const std::string where = "tensor '" + name + "'";
    if (!value.is_object()) fail(where + " must be an object with dtype, shape and data_offsets");
    for (const auto& [k, v] : value.items()) {
      (void)v;
      if (k != "dtype" && k != "shape" && k != "data_offsets") fail(where + " has an unknown field \"" + k + "\"");
    }
    if (!value.contains("dtype") || !value["dtype"].is_string()) fail(where + " has no dtype string");
    if (!value.contains("shape") || !value["shape"].is_array()) fail(where + " has no shape array");
    if (!value.contains("data_offsets") || !value["data_offsets"].is_array() || value["data_offsets"].size() != 2)
      fail(where + " needs data_offsets [begin, end]");
    tensor_entry t;
    t.name = name;
    const std::string type = value["dtype"].get<std::string>();
    bool known = false;
    for (dtype d : {dtype::f64, dtype::f32, dtype::i64, dtype::i32, dtype::u8})
      if (type == name_of(d)) t.type = d, known = true;
    if (!known) fail(where + " has dtype \"" + type + "\"; wfc reads F64, F32, I64, I32 and U8");
    std::uint64_t elements = 1;
    for (const auto& e : value["shape"]) {
      if (!e.is_number_unsigned()) fail(where + " has a shape entry that is not a non-negative integer: " + e.dump());
      const auto n = e.get<std::uint64_t>();
      if (n > std::uint64_t(INT64_MAX) || (n > 0 && elements > data_size_ / n))
        fail(where + " has shape " + value["shape"].dump() + ", larger than the file's " + std::to_string(data_size_) +
             " bytes of data");
      elements *= n;
      t.shape.push_back(std::int64_t(n));
    }
    for (const auto& o : value["data_offsets"])
      if (!o.is_number_unsigned()) fail(where + " has data_offsets " + value["data_offsets"].dump() + " that are not non-negative integers");
    t.begin = value["data_offsets"][0].get<std::uint64_t>();
    t.end = value["data_offsets"][1].get<std::uint64_t>();
    if (t.begin > t.end || t.end > data_size_)
      fail(where + " has data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + ") outside the " +
           std::to_string(data_size_) + " bytes of data (truncated file?)");
    if (t.end - t.begin != elements * size_of(t.type))
      fail(where + " has shape " + value["shape"].dump() + " of " + name_of(t.type) + " (" +
           std::to_string(elements * size_of(t.type)) + " bytes) but data_offsets span " + std::to_string(t.end - t.begin) +
           " bytes");
    return t;
  }

  // The tensors must cover the data exactly once (the format forbids holes and overlaps).
  void check_tiling() {
    std::sort(tensors_.begin(), tensors_.end(),
              [](const tensor_entry& a, const tensor_entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    std::uint64_t at = 0;
    const tensor_entry* previous = nullptr;
    for (const auto& t : tensors_) {
      if (t.begin < at)
        fail("tensors '" + previous->name + "' and '" + t.name + "' overlap (bytes " + std::to_string(t.begin) + " to " +
             std::to_string(std::min(at, t.end)) + ")");
      if (t.begin > at)
        fail("bytes " + std::to_string(at) + " to " + std::to_string(t.begin) + " of the data belong to no tensor");
      at = t.end;
      previous = &t;
    }
    if (at != data_size_)
      fail(std::to_string(data_size_ - at) + " bytes after the last tensor belong to no tensor");
  }

  std::string source_;
  std::map<std::string, std::string> metadata_;
  std::vector<tensor_entry> tensors_;
  std::string data_;
  std::uint64_t data_size_ = 0;  // data_.size(), or the file's when the header alone was read
  bool header_only_ = false;
};

// Collects tensors and metadata, then writes them as one safetensors file.
class builder {
 public:
  void set_metadata(const std::string& key, std::string value) { metadata_[key] = std::move(value); }

  template <class T>
  void add(const std::string& name, std::vector<std::int64_t> shape, const T* values) {
    if (name.empty() || name == "__metadata__") throw value_error("safetensors::builder: a tensor cannot be named '" + name + "'");
    for (const auto& t : tensors_)
      if (t.name == name) throw value_error("safetensors::builder: two tensors named '" + name + "'");
    tensor_entry t;
    t.name = name;
    t.type = dtype_of<T>();
    t.shape = std::move(shape);
    t.begin = data_.size();
    const std::size_t bytes = std::size_t(t.elements()) * sizeof(T);
    data_.append(reinterpret_cast<const char*>(values), bytes);
    t.end = data_.size();
    tensors_.push_back(std::move(t));
  }

  std::string serialize() const {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    for (const auto& t : tensors_)
      header[t.name] = {{"dtype", name_of(t.type)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned, as safetensors pads it
    const std::uint64_t length = text.size();
    std::string out(8, '\0');
    std::memcpy(out.data(), &length, 8);
    out += text;
    out += data_;
    return out;
  }

  // Writes atomically: the file at `path` is the old one or the new one, never a mix.
  void save(const std::string& path) const { write_file_atomically(path, serialize()); }

 private:
  std::map<std::string, std::string> metadata_;
  std::vector<tensor_entry> tensors_;
  std::string data_;
};

}  // namespace wfc::safetensors
