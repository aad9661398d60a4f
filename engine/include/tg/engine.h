// Umbrella header: the whole public engine API.
#pragma once

#include "tg/autograd.h"
#include "tg/backend.h"
#include "tg/ops.h"
#include "tg/optim.h"
#include "tg/random.h"
#include "tg/rnn_spec.h"
#include "tg/tensor.h"
