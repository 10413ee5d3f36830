/**
 * @file model.hpp
 * @brief The Model requirement, layers, losses, Sequential and MLP.
 */
#ifndef XTRAIN_MODEL_HPP
#define XTRAIN_MODEL_HPP

#include "xtrain/model/activation.hpp"
#include "xtrain/model/conv2d.hpp"
#include "xtrain/model/dense.hpp"
#include "xtrain/model/dropout.hpp"
#include "xtrain/model/flatten.hpp"
#include "xtrain/model/gradient_check.hpp"
#include "xtrain/model/init.hpp"
#include "xtrain/model/layer.hpp"
#include "xtrain/model/max_pool2d.hpp"
#include "xtrain/model/mlp.hpp"
#include "xtrain/model/model_traits.hpp"
#include "xtrain/model/mse.hpp"
#include "xtrain/model/parameters_file.hpp"
#include "xtrain/model/sequential.hpp"
#include "xtrain/model/shape.hpp"
#include "xtrain/model/softmax_cross_entropy.hpp"

#endif
