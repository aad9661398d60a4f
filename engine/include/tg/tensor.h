// Tensor: a contiguous, up-to-4-D array of float32 or float64 living on one device.
//
// Storage is reference-counted and owned by the backend of its device; a Tensor is a cheap
// handle (shape + dtype + shared storage). Reshape is free (same storage); every other
// change of layout is an op that goes through the backend. Copies between devices are
// explicit (`to(Device)`), never implicit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace tg {

enum class DType : uint8_t { F32 = 0, F64 = 1 };
enum class Device : uint8_t { CPU = 0, CUDA = 1 };

inline size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 8; }
const char* dtype_name(DType t);
const char* device_name(Device d);

/// Up to 4 dimensions. `Shape{}` (rank 0) is a scalar with one element.
class Shape {
 public:
  static constexpr int kMaxRank = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const;  // negative i counts from the end
  int64_t numel() const;
  std::vector<int64_t> dims() const { return {d_.begin(), d_.begin() + rank_}; }
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "[128, 24, 6]"

 private:
  std::array<int64_t, kMaxRank> d_{};
  int rank_ = 0;
};

/// Raw memory owned by a backend; freed through it when the last Tensor lets go.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  ~Storage();
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor {
 public:
  Tensor() = default;  // undefined (no storage)

  /// Uninitialised tensor of the given shape (contents unspecified).
  static Tensor empty(const Shape& s, DType dt = DType::F32, Device dev = Device::CPU);
  static Tensor zeros(const Shape& s, DType dt = DType::F32, Device dev = Device::CPU);
  static Tensor full(const Shape& s, double value, DType dt = DType::F32, Device dev = Device::CPU);
  /// From host values (converted to dt), then placed on dev.
  static Tensor from_vector(const Shape& s, const std::vector<double>& v, DType dt = DType::F32,
                            Device dev = Device::CPU);
  static Tensor from_floats(const Shape& s, const std::vector<float>& v, Device dev = Device::CPU);

  bool defined() const { return static_cast<bool>(storage_); }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() const;
  template <typename T>
  T* data() const;  // checks dtype

  /// Same storage, new shape with the same element count.
  Tensor reshape(const Shape& s) const;
  /// reshape() where one dimension may be -1 (inferred).
  Tensor view(std::vector<int64_t> dims) const;
  /// Deep copy on the same device.
  Tensor clone() const;
  /// Explicit copy to another device (a clone when dev == device()).
  Tensor to(Device dev) const;
  /// Converted copy (F32 <-> F64) on the same device.
  Tensor cast(DType dt) const;
  /// Host copy of the values as doubles (any device).
  std::vector<double> to_vector() const;
  /// Value of a one-element tensor.
  double item() const;
  /// True when both share storage.
  bool same_storage(const Tensor& o) const { return storage_ == o.storage_; }

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  DType dtype_ = DType::F32;
  Device device_ = Device::CPU;
};

template <>
float* Tensor::data<float>() const;
template <>
double* Tensor::data<double>() const;

}  // namespace tg
