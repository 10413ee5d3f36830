#!/usr/bin/env python3
# Independent re-implementation of xtrain's documented algorithms (SplitMix64 seeding, xoshiro256**,
# derive_rng, Lemire bounded integers, Fisher-Yates) to pin the permutation of one epoch.
M=(1<<64)-1
def splitmix(state):
    state=(state+0x9e3779b97f4a7c15)&M
    z=state
    z=((z^(z>>30))*0xbf58476d1ce4e5b9)&M
    z=((z^(z>>27))*0x94d049bb133111eb)&M
    return state, z^(z>>31)
def rotl(x,k): return ((x<<k)|(x>>(64-k)))&M
class Rng:
    def __init__(s,seed):
        st=seed; s.s=[]
        for _ in range(4):
            st,v=splitmix(st); s.s.append(v)
    def next(s):
        a=s.s
        r=(rotl((a[1]*5)&M,7)*9)&M
        t=(a[1]<<17)&M
        a[2]^=a[0]; a[3]^=a[1]; a[1]^=a[2]; a[0]^=a[3]; a[2]^=t; a[3]=rotl(a[3],45)
        return r
    def index(s,n):
        m=s.next()*n; low=m&M
        if low<n:
            th=((1<<64)-n)%n
            while low<th:
                m=s.next()*n; low=m&M
        return m>>64
def derive(seed,stream,index):
    h=seed; h,a=splitmix(h)
    h=a^((stream*0xd1342543de82ef95)&M); h,b=splitmix(h)
    h=b^((index*0x9e3779b97f4a7c15+0x2545f4914f6cdd1d)&M); h,c=splitmix(h)
    return Rng(c)
def perm(n,seed,epoch):
    p=list(range(n)); r=derive(seed,1,epoch)
    for i in range(n,1,-1):
        j=r.index(i); p[i-1],p[j]=p[j],p[i-1]
    return p
if __name__ == "__main__":
    # The values pinned in test_sampling.cpp ("the permutation matches an independent implementation").
    print(perm(10, 42, 0)); print(perm(10, 42, 1)); print(perm(20, 7, 3))
