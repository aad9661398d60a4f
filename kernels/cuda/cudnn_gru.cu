// placeholder, filled below
namespace tg::kernels::cuda {}
