#pragma once
// libactors — durable, versioned, supervised actor programs on CAF. The one header applications include.

#include "actors/ctx.hpp"
#include "actors/detail/invoker.hpp"
#include "actors/effects.hpp"
#include "actors/engine.hpp"
#include "actors/engine_main.hpp"
#include "actors/errc.hpp"
#include "actors/router.hpp"
#include "actors/serialization.hpp"
#include "actors/supervise.hpp"
#include "actors/task.hpp"
#include "actors/task_id.hpp"
