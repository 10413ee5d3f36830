/**
 * @file model.hpp
 * @brief The Model requirement, layers, losses and Sequential.
 */
#ifndef XTRAIN_MODEL_HPP
#define XTRAIN_MODEL_HPP

#endif
