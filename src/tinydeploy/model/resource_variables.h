// Resource variables and CALL_ONCE, turned into what the rest of tinydeploy already knows: the
// entry subgraph with variable tensors and operators that run once.
#pragma once

#include "tinydeploy/model/graph.h"

namespace tinydeploy::model {

// Rewrites `model`'s entry subgraph so that it no longer refers to other subgraphs or resources:
//  - each resource variable (a VAR_HANDLE's container/shared_name) becomes one variable tensor
//    of the entry subgraph, typed and sized like the values ASSIGN_VARIABLE stores in it, with
//    the fill TensorFlow Lite Micro gives it before the first ASSIGN (Tensor::resource_fill);
//  - READ_VARIABLE and ASSIGN_VARIABLE take that tensor as input 0 (they copy from and into it);
//    VAR_HANDLE operators disappear;
//  - each CALL_ONCE is replaced by the operators of its initialization subgraph, whose tensors
//    are appended to the entry subgraph's, marked Operator::run_once.
// Tensors of the entry subgraph keep their indices (new ones are appended). When the model uses
// them in a way this cannot express (a resource read but never assigned, stored with two types,
// passed to another operator, CALL_ONCE outside the entry subgraph or nested), the model is left
// as it is and Model::unresolved_state says why. A model with neither is returned unchanged.
void resolve_resource_variables(Model& model);

}  // namespace tinydeploy::model
