// Fault injection for the CPU emulation of the CUDA device (cuda_emu.h): each way a real device
// can fail that the backend must report to the user (kernels/cuda/device.cu, cuda_backend.cu),
// returned by the emulated runtime when TG_CUDA_EMU_FAULT (or emu::set_fault) asks for it. The
// runtime functions (runtime.cpp) call the fault_* hooks; everything else lives here. The
// error kinds, the version numbers and the memory query of the seam are here too, since the
// injected faults decide what they answer.
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cuda_emu.h"

namespace tg::gpu {

namespace {

constexpr size_t kTotal = size_t(1) << 30;  // as device_info's global_mem

enum class Fault { None, NoDriver, OldDriver, NoDevice, NoKernelImage, Busy, OomMalloc, OomBlas, AsyncFault };

struct State {
  std::mutex mu;
  bool loaded = false;
  Fault fault = Fault::None;
  size_t budget = 0;           // oom_malloc: live bytes allowed
  long blas_failures = 0;      // oom_blas: BLAS calls still to fail
  std::string kernel;          // async_fault: the kernel whose launch faults
  bool fired = false;          // async_fault: the sticky error is set
  size_t live = 0;             // device bytes allocated and not freed
};

State& state() {
  static State* s = new State();  // leaked: used by static tensors' destructors
  return *s;
}

unsigned long long parse_count(const std::string& spec, const std::string& arg) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(arg.c_str(), &end, 10);
  if (arg.empty() || *end != '\0' || arg[0] == '-')
    throw std::invalid_argument("TG_CUDA_EMU_FAULT: bad number in '" + spec + "'");
  return v;
}

void parse_locked(State& s, const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const bool has_arg = colon != std::string::npos;
  const std::string arg = has_arg ? spec.substr(colon + 1) : std::string();
  s.fault = Fault::None;
  s.budget = 0;
  s.blas_failures = 0;
  s.kernel.clear();
  s.fired = false;
  if (name.empty()) return;
  if (name == "oom_malloc") {
    s.fault = Fault::OomMalloc;
    s.budget = has_arg ? static_cast<size_t>(parse_count(spec, arg)) : 0;
    return;
  }
  if (name == "oom_blas") {
    s.fault = Fault::OomBlas;
    s.blas_failures = has_arg ? static_cast<long>(parse_count(spec, arg)) : 1;
    return;
  }
  if (name == "async_fault") {
    if (arg.empty()) throw std::invalid_argument("TG_CUDA_EMU_FAULT: async_fault needs a kernel name (async_fault:NAME)");
    s.fault = Fault::AsyncFault;
    s.kernel = arg;
    return;
  }
  if (has_arg) throw std::invalid_argument("TG_CUDA_EMU_FAULT: '" + name + "' takes no argument");
  if (name == "no_driver") s.fault = Fault::NoDriver;
  else if (name == "old_driver") s.fault = Fault::OldDriver;
  else if (name == "no_device") s.fault = Fault::NoDevice;
  else if (name == "no_kernel_image") s.fault = Fault::NoKernelImage;
  else if (name == "busy") s.fault = Fault::Busy;
  else
    throw std::invalid_argument("TG_CUDA_EMU_FAULT: unknown fault '" + name +
                                "' (no_driver, old_driver, no_device, no_kernel_image, busy, oom_malloc[:BYTES], "
                                "oom_blas[:N], async_fault:KERNEL)");
}

// The state with TG_CUDA_EMU_FAULT applied on first use; the caller holds the lock.
State& loaded(std::unique_lock<std::mutex>& lock) {
  State& s = state();
  lock = std::unique_lock<std::mutex>(s.mu);
  if (!s.loaded) {
    s.loaded = true;
    const char* e = std::getenv("TG_CUDA_EMU_FAULT");
    parse_locked(s, e ? e : "");
  }
  return s;
}

}  // namespace

ErrorKind error_kind(Error e) {
  switch (e) {
    case kErrorInsufficientDriver: return ErrorKind::InsufficientDriver;
    case kErrorNoDevice: return ErrorKind::NoDevice;
    case kErrorNoKernelImage: return ErrorKind::NoKernelImage;
    case kErrorDevicesUnavailable: return ErrorKind::DeviceUnavailable;
    case kErrorMemoryAllocation: return ErrorKind::OutOfMemory;
    case kErrorIllegalAddress: return ErrorKind::AsyncFault;
    default: return ErrorKind::Other;
  }
}

void version_numbers(int* driver, int* runtime) {
  std::unique_lock<std::mutex> lock;
  State& s = loaded(lock);
  *runtime = 13000;
  *driver = s.fault == Fault::NoDriver ? 0 : (s.fault == Fault::OldDriver ? 12020 : 13000);
}

Error mem_info(size_t* free_bytes, size_t* total_bytes) {
  std::unique_lock<std::mutex> lock;
  State& s = loaded(lock);
  const size_t total = s.fault == Fault::OomMalloc ? s.budget : kTotal;
  *total_bytes = total;
  *free_bytes = s.live < total ? total - s.live : 0;
  return kSuccess;
}

Error launch_error(const char* name) {
  const Error e = get_last_error();
  std::unique_lock<std::mutex> lock;
  State& s = loaded(lock);
  if (s.fault == Fault::AsyncFault && name && s.kernel == name) s.fired = true;
  return e;
}

namespace emu {

void set_fault(const std::string& spec) {
  std::unique_lock<std::mutex> lock;
  State& s = loaded(lock);
  parse_locked(s, spec);
}

Error fault_device_count(int* n) {
  std::unique_lock<std::mutex> lock;
  State& s = loaded(lock);
  if (s.fault == Fault::NoDriver || s.fault == Fault::OldDriver) {
    *n = 0;
    return kErrorInsufficientDriver;
  }
  if (s.fault == Fault::NoDevice) {
    *n = 0;
    return kErrorNoDevice;
  }
  return kSuccess;
}

Error fault_set_device() {
  std::unique_lock<std::mutex> lock;
  return loaded(lock).fault == Fault::Busy ? kErrorDevicesUnavailable : kSuccess;
}

void fault_device_info(DeviceInfo* out) {
  std::unique_lock<std::mutex> lock;
  if (loaded(lock).fault == Fault::NoKernelImage) {  // a device older than the build's kernels
    out->major = 7;
    out->minor = 5;
  }
}

Error fault_malloc(size_t bytes) {
  std::unique_lock<std::mutex> lock;
  State& s = loaded(lock);
  if (s.fault == Fault::OomMalloc && s.live + bytes > s.budget) return kErrorMemoryAllocation;
  s.live += bytes;
  return kSuccess;
}

void fault_free(size_t bytes) {
  std::unique_lock<std::mutex> lock;
  State& s = loaded(lock);
  s.live -= bytes < s.live ? bytes : s.live;
}

Error fault_launch() {
  std::unique_lock<std::mutex> lock;
  return loaded(lock).fault == Fault::NoKernelImage ? kErrorNoKernelImage : kSuccess;
}

Error fault_sync() {
  std::unique_lock<std::mutex> lock;
  return loaded(lock).fired ? kErrorIllegalAddress : kSuccess;
}

BlasStatus fault_blas() {
  std::unique_lock<std::mutex> lock;
  State& s = loaded(lock);
  if (s.fault != Fault::OomBlas || s.blas_failures <= 0) return kBlasSuccess;
  --s.blas_failures;
  return kBlasAllocFailed;
}

}  // namespace emu
}  // namespace tg::gpu
