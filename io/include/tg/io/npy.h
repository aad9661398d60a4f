// NumPy .npy files: read v1/v2/v3 '<f4'/'<f8' C-order arrays; write '<f4' or '<f8' atomically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tg::io {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> data;  ///< C order
  int64_t size() const;      ///< product of shape (1 for a 0-d array)
};

/// Throws InputError "<file>: ..." for a bad magic, version, header, dtype other than
/// '<f4'/'<f8', fortran_order True, or truncated data.
NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const std::string& bytes, const std::string& name);

enum class NpyDtype { F32, F64 };
/// Writes atomically (temp file + rename). data.size() must equal the product of shape.
void write_npy(const std::string& path, const NpyArray& a, NpyDtype dtype = NpyDtype::F64);
std::string npy_bytes(const NpyArray& a, NpyDtype dtype = NpyDtype::F64);

}  // namespace tg::io
