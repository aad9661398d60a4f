#include "tg/tensor.h"

#include <cstring>
#include <sstream>
#include <stdexcept>

#include "tg/backend.h"

namespace tg {

const char* dtype_name(DType t) { return t == DType::F32 ? "float32" : "float64"; }
const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

// ---- Shape -----------------------------------------------------------------------------

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  if (dims.size() > static_cast<size_t>(kMaxRank))
    throw std::invalid_argument("Shape: rank " + std::to_string(dims.size()) + " exceeds 4");
  rank_ = static_cast<int>(dims.size());
  for (int i = 0; i < rank_; ++i) {
    if (dims[static_cast<size_t>(i)] < 0)
      throw std::invalid_argument("Shape: negative dimension " + std::to_string(dims[static_cast<size_t>(i)]));
    d_[static_cast<size_t>(i)] = dims[static_cast<size_t>(i)];
  }
}

int64_t Shape::operator[](int i) const {
  const int j = i < 0 ? i + rank_ : i;
  if (j < 0 || j >= rank_)
    throw std::out_of_range("Shape: axis " + std::to_string(i) + " out of range for " + str());
  return d_[static_cast<size_t>(j)];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= d_[static_cast<size_t>(i)];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (d_[static_cast<size_t>(i)] != o.d_[static_cast<size_t>(i)]) return false;
  return true;
}

std::string Shape::str() const {
  std::ostringstream s;
  s << '[';
  for (int i = 0; i < rank_; ++i) s << (i ? ", " : "") << d_[static_cast<size_t>(i)];
  s << ']';
  return s.str();
}

// ---- Storage ---------------------------------------------------------------------------

Storage::~Storage() {
  if (data) backend_for(device).deallocate(data, bytes);
}

// ---- Tensor ----------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& s, DType dt, Device dev) {
  Tensor t;
  t.shape_ = s;
  t.dtype_ = dt;
  t.device_ = dev;
  Backend& be = backend_for(dev);
  auto st = std::make_shared<Storage>();
  st->device = dev;
  st->bytes = static_cast<size_t>(s.numel()) * dtype_size(dt);
  st->data = be.allocate(st->bytes == 0 ? dtype_size(dt) : st->bytes);
  if (st->bytes == 0) st->bytes = dtype_size(dt);
  t.storage_ = std::move(st);
  return t;
}

Tensor Tensor::zeros(const Shape& s, DType dt, Device dev) { return full(s, 0.0, dt, dev); }

Tensor Tensor::full(const Shape& s, double value, DType dt, Device dev) {
  Tensor t = empty(s, dt, dev);
  backend_for(dev).fill(t, value);
  return t;
}

Tensor Tensor::from_vector(const Shape& s, const std::vector<double>& v, DType dt, Device dev) {
  if (static_cast<int64_t>(v.size()) != s.numel())
    throw std::invalid_argument("Tensor::from_vector: " + std::to_string(v.size()) +
                                " values for shape " + s.str());
  Tensor host = empty(s, dt, Device::CPU);
  if (v.empty()) {
    // nothing to copy (memcpy with the null data() of an empty vector is undefined)
  } else if (dt == DType::F64) {
    std::memcpy(host.raw(), v.data(), v.size() * sizeof(double));
  } else {
    float* p = host.data<float>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<float>(v[i]);
  }
  return dev == Device::CPU ? host : host.to(dev);
}

Tensor Tensor::from_floats(const Shape& s, const std::vector<float>& v, Device dev) {
  if (static_cast<int64_t>(v.size()) != s.numel())
    throw std::invalid_argument("Tensor::from_floats: " + std::to_string(v.size()) +
                                " values for shape " + s.str());
  Tensor host = empty(s, DType::F32, Device::CPU);
  if (!v.empty()) std::memcpy(host.raw(), v.data(), v.size() * sizeof(float));  // (an empty vector's data() may be null)
  return dev == Device::CPU ? host : host.to(dev);
}

void* Tensor::raw() const {
  if (!storage_) throw std::logic_error("Tensor: use of an undefined tensor");
  return storage_->data;
}

template <>
float* Tensor::data<float>() const {
  if (dtype_ != DType::F32)
    throw std::logic_error(std::string("Tensor::data<float>: tensor is ") + dtype_name(dtype_));
  return static_cast<float*>(raw());
}
template <>
double* Tensor::data<double>() const {
  if (dtype_ != DType::F64)
    throw std::logic_error(std::string("Tensor::data<double>: tensor is ") + dtype_name(dtype_));
  return static_cast<double*>(raw());
}

Tensor Tensor::reshape(const Shape& s) const {
  if (s.numel() != numel())
    throw std::invalid_argument("reshape: cannot view " + shape_.str() + " as " + s.str());
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::view(std::vector<int64_t> d) const {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("view: more than one -1");
      infer = static_cast<int>(i);
    } else {
      known *= d[i];
    }
  }
  if (infer >= 0) d[static_cast<size_t>(infer)] = known == 0 ? 0 : numel() / known;
  return reshape(Shape(d));
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device_);
  backend_for(device_).copy(t.raw(), raw(), nbytes());
  return t;
}

Tensor Tensor::to(Device dev) const {
  if (dev == device_) return clone();
  Tensor t = empty(shape_, dtype_, dev);
  if (device_ == Device::CPU) {
    backend_for(dev).from_host(t.raw(), raw(), nbytes());
  } else if (dev == Device::CPU) {
    backend_for(device_).to_host(t.raw(), raw(), nbytes());
  } else {
    throw std::runtime_error("Tensor::to: unsupported device pair");
  }
  return t;
}

Tensor Tensor::cast(DType dt) const {
  if (dt == dtype_) return clone();
  Tensor t = empty(shape_, dt, device_);
  backend_for(device_).cast(*this, t);
  return t;
}

std::vector<double> Tensor::to_vector() const {
  Tensor host = device_ == Device::CPU ? *this : to(Device::CPU);
  std::vector<double> v(static_cast<size_t>(numel()));
  if (v.empty()) {
    // nothing to copy (memcpy with the null data() of an empty vector is undefined)
  } else if (dtype_ == DType::F64) {
    std::memcpy(v.data(), host.raw(), v.size() * sizeof(double));
  } else {
    const float* p = host.data<float>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = p[i];
  }
  return v;
}

double Tensor::item() const {
  if (numel() != 1)
    throw std::invalid_argument("Tensor::item: tensor of shape " + shape_.str() + " has " +
                                std::to_string(numel()) + " elements, not 1");
  return to_vector()[0];
}

}  // namespace tg
